"""The decision of one wave's weights from the earlier waves' outcomes, without I/O.

Each variant's rate on the campaign's metric has a Beta(1 + successes, 1 + failures)
posterior (a uniform prior). The next wave's weight of a variant is the posterior
probability that it is the best (Thompson sampling, by Monte Carlo draws). Exploration
stops when, at the rule's confidence, no variant beats the leader by more than
`min_improvement` of the leader's rate: the "value remaining" of Scott (2015), "Multi-armed
bandit experiments in the online service economy", Applied Stochastic Models in Business
and Industry 31(1).

Draws come from a generator seeded by the decision's identity, so deciding the same wave
from the same counts gives the same weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from jobs.config.models import StopRule

DRAWS = 20_000


@dataclass(frozen=True)
class ArmCounts:
    """What the earlier waves of a run sent a variant's customers, and how many succeeded."""

    trials: int
    successes: int

    @property
    def alpha(self) -> float:
        return 1.0 + self.successes

    @property
    def beta(self) -> float:
        return 1.0 + self.trials - self.successes


@dataclass(frozen=True)
class Decision:
    """A wave's weights (summing to 1), each variant's probability of being the best, and
    whether exploration has stopped (then the winner has weight 1)."""

    weights: dict[str, float]
    prob_best: dict[str, float]
    value_remaining: float | None
    winner: str | None

    @property
    def is_stopped(self) -> bool:
        return self.winner is not None


def decision_seed(*identity: str) -> int:
    """A 64-bit seed fixed by the decision's identity (retailer, campaign, run, wave)."""
    return int.from_bytes(hashlib.sha256("|".join(identity).encode()).digest()[:8], "big")


def even_split(variant_ids: Sequence[str]) -> Decision:
    """The first wave's allocation: nothing is known yet."""
    share = 1.0 / len(variant_ids)
    return Decision({v: share for v in variant_ids}, {v: share for v in variant_ids}, None, None)


def winner_takes_all(variant_ids: Sequence[str], winner: str) -> Decision:
    """Every wave after the stopping rule held: the winner only."""
    weights = {v: 1.0 if v == winner else 0.0 for v in variant_ids}
    return Decision(weights, dict(weights), 0.0, winner)


def decide(counts: Mapping[str, ArmCounts], stop: StopRule, *, seed: int) -> Decision:
    """Thompson weights for the next wave from the counts so far, or the winner alone when
    the stopping rule holds. Variants are taken in the order of `counts`."""
    variant_ids = list(counts)
    draws = _posterior_draws([counts[v] for v in variant_ids], seed)
    best = np.bincount(draws.argmax(axis=1), minlength=len(variant_ids)) / len(draws)
    prob_best = {v: float(p) for v, p in zip(variant_ids, best, strict=True)}
    leader = int(best.argmax())
    remaining = (draws.max(axis=1) - draws[:, leader]) / draws[:, leader]
    value_remaining = float(np.quantile(remaining, stop.confidence))
    if value_remaining < stop.min_improvement:
        stopped = winner_takes_all(variant_ids, variant_ids[leader])
        return Decision(stopped.weights, prob_best, value_remaining, stopped.winner)
    return Decision(dict(prob_best), prob_best, value_remaining, None)


def _posterior_draws(arms: Sequence[ArmCounts], seed: int) -> np.ndarray:
    """DRAWS x variants samples of the rates from their Beta posteriors."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.beta(arm.alpha, arm.beta, size=DRAWS) for arm in arms])
