"""`campaigns bench adaptive`: adaptive allocation against a fixed even split, over many
simulated campaigns whose true rates are known.

Each seed draws the variants' true rates, then sends one audience twice in expectation:
as an even split, and in waves decided by the same code the decision step runs
(jobs/allocation/bandit.decide), with successes drawn from the true rates. Regret is the
expected successes lost against sending every customer the best variant. Printed: the
mean regret of each, how often the stopping rule stopped, at which wave, and how often
what it picked was the true best.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np

from jobs.allocation.bandit import ArmCounts, Decision, decide, decision_seed, even_split
from jobs.commands.common import emit
from jobs.config.models import Allocation, StopRule


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=200, help="simulated campaigns")
    parser.add_argument("--audience", type=int, default=20_000, help="customers a campaign")
    parser.add_argument("--variants", type=int, default=3, help="variants a campaign")
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--exploration-share", type=float, default=0.2)
    parser.add_argument(
        "--rates",
        type=float,
        nargs=2,
        default=(0.02, 0.08),
        metavar=("LOW", "HIGH"),
        help="true rates are drawn uniformly from this range (default: click rates)",
    )


@dataclass(frozen=True)
class Outcome:
    regret: float  # expected successes lost against always the best variant
    stopped_at: int | None  # the wave whose decision stopped exploring
    picked_best: bool | None  # whether the stop's winner is the true best
    best_share_last_wave: float


def simulate(
    rates: np.ndarray, audience: int, allocation: Allocation, rng: np.random.Generator, seed: int
) -> Outcome:
    """One campaign sent in waves: each wave's counts drawn by its weights, its successes by
    the true rates, the next wave's weights decided from everything so far."""
    variant_ids = [f"v{i}" for i in range(len(rates))]
    best = int(rates.argmax())
    trials, successes = np.zeros(len(rates), int), np.zeros(len(rates), int)
    decision: Decision = even_split(variant_ids)
    regret, stopped_at, share = 0.0, None, 0.0
    for wave in range(1, allocation.waves + 1):
        if wave > 1 and not decision.is_stopped:
            counts = {
                v: ArmCounts(int(t), int(s))
                for v, t, s in zip(variant_ids, trials, successes, strict=True)
            }
            decision = decide(counts, allocation.stop, seed=decision_seed(str(seed), str(wave)))
            if decision.is_stopped:
                stopped_at = wave
        low, high = allocation.wave_bounds(wave)
        size = round(audience * high) - round(audience * low)
        weights = np.array([decision.weights[v] for v in variant_ids])
        sent = rng.multinomial(size, weights / weights.sum())
        trials += sent
        successes += rng.binomial(sent, rates)
        regret += float(sent @ (rates[best] - rates))
        share = sent[best] / max(size, 1)
    picked = None if decision.winner is None else decision.winner == variant_ids[best]
    return Outcome(regret, stopped_at, picked, share)


def run(args: argparse.Namespace) -> int:
    allocation = Allocation(
        mode="adaptive",
        waves=args.waves,
        exploration_share=args.exploration_share,
        stop=StopRule(),
    )
    started = time.perf_counter()
    adaptive, fixed = [], []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        low, high = args.rates
        rates = rng.uniform(float(low), float(high), size=args.variants)
        fixed.append(args.audience / args.variants * float(np.sum(rates.max() - rates)))
        adaptive.append(simulate(rates, args.audience, allocation, rng, seed))
    stops = [o for o in adaptive if o.stopped_at is not None]
    mean_fixed = statistics.fmean(fixed)
    mean_adaptive = statistics.fmean(o.regret for o in adaptive)
    emit(
        f"bench adaptive: {args.seeds} campaigns of {args.audience:,} customers, "
        f"{args.variants} variants with true rates in [{args.rates[0]}, {args.rates[1]}], "
        f"{args.waves} waves, exploration {args.exploration_share:.0%}, stop at "
        f"{allocation.stop.confidence:.0%} / {allocation.stop.min_improvement:.0%}"
    )
    emit(f"  mean regret, fixed even split: {mean_fixed:,.1f} successes lost a campaign")
    emit(
        f"  mean regret, adaptive:         {mean_adaptive:,.1f} "
        f"({1 - mean_adaptive / mean_fixed:.0%} less)"
    )
    emit(
        f"  stopped early in {len(stops)}/{args.seeds} campaigns"
        + (
            f" (mean wave {statistics.fmean(o.stopped_at or 0 for o in stops):.1f}); "
            f"picked the true best in {sum(bool(o.picked_best) for o in stops)}/{len(stops)}"
            if stops
            else ""
        )
    )
    emit(
        "  last wave's share sent the true best: median "
        f"{statistics.median(o.best_share_last_wave for o in adaptive):.0%}"
    )
    emit(f"  {time.perf_counter() - started:.1f} s")
    return 0
