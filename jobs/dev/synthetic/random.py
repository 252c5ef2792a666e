"""Deterministic pseudo-random columns for synthetic data.

Every draw is a hash of (seed, salt, row keys), so a row gets the same values
whatever the partitioning, executor count or run: generation is reproducible
for a seed without collecting anything to the driver and without Python UDFs.
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

from jobs.audience.hashing import unit_interval


def uniform(seed: int, salt: str, *keys: Column) -> Column:
    """A draw in [0, 1) fixed by the seed, the salt and the row keys."""
    return unit_interval(f"{seed}:{salt}", *keys)


def standard_normal(seed: int, salt: str, *keys: Column) -> Column:
    """Box-Muller transform of two independent uniforms."""
    u1 = F.lit(1.0) - uniform(seed, f"{salt}:1", *keys)  # (0, 1], safe for log
    u2 = uniform(seed, f"{salt}:2", *keys)
    return F.sqrt(F.lit(-2.0) * F.log(u1)) * F.cos(F.lit(2 * math.pi) * u2)


def pick(options: list[str], draw: Column) -> Column:
    """One of `options`, uniformly, from a draw in [0, 1)."""
    index = F.floor(draw * len(options)).cast("int")
    return F.element_at(F.array(*[F.lit(option) for option in options]), index + 1)


def chance(probability: float, draw: Column) -> Column:
    """True with the given probability."""
    return draw < F.lit(probability)
