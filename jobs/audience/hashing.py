"""Deterministic hashing in Spark expressions, shared by every stage that needs it.

xxhash64 is part of Spark's SQL functions with a fixed seed, so the same keys
hash the same way on every executor, run and cluster: the basis of sticky
variant assignment and of reproducible synthetic data.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_MANTISSA = 1 << 53


def unit_interval(salt: str, *keys: Column) -> Column:
    """A value in [0, 1) fixed by the salt and the keys; uniform over distinct keys."""
    hashed = F.xxhash64(F.lit(salt), *keys)
    return F.pmod(hashed, F.lit(_MANTISSA)).cast("double") / float(_MANTISSA)


def hex_digest(*keys: Column, length: int = 32) -> Column:
    """A stable identifier from the keys: the first `length` hex digits of SHA-256."""
    return F.substring(F.sha2(F.concat_ws("|", *keys), 256), 1, length)
