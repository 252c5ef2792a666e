"""The wave decision's arithmetic: Thompson weights, the stopping rule, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.allocation.bandit import ArmCounts, decide, decision_seed, even_split
from jobs.config.models import Allocation, StopRule
from jobs.dev.bench.adaptive import simulate

STOP = StopRule(confidence=0.95, min_improvement=0.01)


def test_the_first_wave_is_an_even_split_that_knows_nothing() -> None:
    first = even_split(["a", "b", "c", "d"])

    assert first.weights == {v: 0.25 for v in "abcd"} and not first.is_stopped


def test_weights_are_each_variants_chance_of_being_best_and_sum_to_one() -> None:
    counts = {"a": ArmCounts(300, 12), "b": ArmCounts(300, 18), "c": ArmCounts(300, 21)}

    decision = decide(counts, STOP, seed=decision_seed("r", "c", "run", "2"))

    assert sum(decision.weights.values()) == pytest.approx(1.0)
    assert decision.weights["a"] < decision.weights["b"] < decision.weights["c"]
    assert not decision.is_stopped and decision.value_remaining > STOP.min_improvement
    # Beta(22, 280) against Beta(19, 283): c is ahead of b about two times in three
    assert 0.5 < decision.weights["c"] / (decision.weights["b"] + decision.weights["c"]) < 0.8


def test_the_same_decision_from_the_same_counts_is_the_same_and_another_seed_differs() -> None:
    counts = {"a": ArmCounts(100, 5), "b": ArmCounts(100, 6)}
    seed = decision_seed("fresh-mart", "spring", "spring-20261201", "2")

    first, again = decide(counts, STOP, seed=seed), decide(counts, STOP, seed=seed)
    other = decide(counts, STOP, seed=decision_seed("fresh-mart", "spring", "x", "2"))

    assert first == again and first.weights != other.weights


def test_exploration_stops_when_no_variant_can_beat_the_leader_by_a_percent() -> None:
    clear = {"a": ArmCounts(2_000, 80), "b": ArmCounts(2_000, 200)}
    close = {"a": ArmCounts(2_000, 190), "b": ArmCounts(2_000, 200)}

    stopped = decide(clear, STOP, seed=1)
    going_on = decide(close, STOP, seed=1)

    assert stopped.winner == "b" and stopped.weights == {"a": 0.0, "b": 1.0}
    assert going_on.winner is None and 0.2 < going_on.weights["a"] < 0.5


def test_over_simulated_campaigns_adaptive_loses_less_than_an_even_split() -> None:
    """The bench's model, small: the decision code steers sends to the better variants."""
    allocation = Allocation(mode="adaptive", waves=4, exploration_share=0.2)
    adaptive, fixed = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rates = rng.uniform(0.02, 0.08, size=3)
        fixed.append(10_000 / 3 * float(np.sum(rates.max() - rates)))
        adaptive.append(simulate(rates, 10_000, allocation, rng, seed).regret)

    assert np.mean(adaptive) < 0.5 * np.mean(fixed)
