"""The waves of an adaptive campaign run: which customers each takes, the weights it was
decided with, and the decision step that records them in `variant_allocations`.

Wave K of run R is launched as run `R-wK`, so each wave is a run of its own to the
launch, the delivery and the readouts (a relaunch is "already launched"). Its weights are
decided once, before its launch, from the outcomes of waves 1..K-1, and never change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from jobs.allocation.bandit import (
    ArmCounts,
    Decision,
    decide,
    decision_seed,
    even_split,
    winner_takes_all,
)
from jobs.allocation.outcomes import pooled, wave_outcomes
from jobs.config.models import CampaignConfig
from jobs.errors import OperatorError
from jobs.warehouse.registry import VARIANT_ALLOCATIONS
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)
ALLOCATION_KEYS = ("retailer_id", "campaign_id", "run_id", "wave", "variant_id")


class AllocationError(OperatorError):
    """A wave asked for out of order, or of a campaign that does not allocate adaptively."""


def wave_run_id(run_id: str, wave: int) -> str:
    """The run id wave `wave` of logical run `run_id` is launched and delivered under."""
    return f"{run_id}-w{wave}"


def launched_run_ids(campaign: CampaignConfig, run_id: str) -> list[str]:
    """The run ids a logical run is launched under: its own, or each of its waves'."""
    if not campaign.allocation.is_adaptive:
        return [run_id]
    return [wave_run_id(run_id, wave) for wave in range(1, campaign.allocation.waves + 1)]


@dataclass(frozen=True)
class WaveLaunch:
    """What a launch needs to send one wave: its customers' slice of the wave hash (salted
    with the logical run) and the weights its non-holdout customers are assigned by."""

    run_id: str
    wave: int
    bounds: tuple[float, float]
    weights: dict[str, float]


@dataclass(frozen=True)
class AllocationReport:
    campaign_id: str
    run_id: str
    wave: int
    decision: Decision
    counts: dict[str, ArmCounts]
    written: bool

    def line(self) -> str:
        weights = ", ".join(f"{v} {w:.3f}" for v, w in self.decision.weights.items())
        seen = ", ".join(f"{v} {c.successes:,}/{c.trials:,}" for v, c in self.counts.items())
        verdict = (
            f"stopped: {self.decision.winner} wins" if self.decision.is_stopped else "exploring"
        )
        state = "decided" if self.written else "already decided (nothing written)"
        return (
            f"{state} wave {self.wave} of {self.run_id}: weights {weights} ({verdict}); "
            f"earlier waves {seen or 'none'}"
        )


def require_adaptive(campaign: CampaignConfig, wave: int) -> None:
    if not campaign.allocation.is_adaptive:
        raise AllocationError(
            f"campaign {campaign.campaign_id} allocates by fixed weights (allocation mode "
            "'fixed'): launch it without --wave"
        )
    if not 1 <= wave <= campaign.allocation.waves:
        raise AllocationError(
            f"campaign {campaign.campaign_id} has waves 1..{campaign.allocation.waves}, not {wave}"
        )


def recorded(store: DeltaStore, campaign: CampaignConfig, run_id: str) -> pa.Table:
    """Every recorded decision of one run of `campaign`."""
    rows = store.read_arrow(
        VARIANT_ALLOCATIONS.name, partitions={"retailer_id": [campaign.retailer_id]}
    )
    return rows.filter(
        pc.and_(
            pc.equal(rows["campaign_id"], campaign.campaign_id), pc.equal(rows["run_id"], run_id)
        )
    )


def wave_launch(
    store: DeltaStore, campaign: CampaignConfig, run_id: str, wave: int
) -> WaveLaunch | None:
    """The recorded weights of a wave, ready to launch, or None before its decision."""
    require_adaptive(campaign, wave)
    rows = recorded(store, campaign, run_id)
    rows = rows.filter(pc.equal(rows["wave"], wave)).to_pylist()
    if not rows:
        return None
    weights = {row["variant_id"]: row["weight"] for row in rows}
    ordered = {v.variant_id: weights.get(v.variant_id, 0.0) for v in campaign.variants}
    return WaveLaunch(run_id, wave, campaign.allocation.wave_bounds(wave), ordered)


def decide_allocation(
    store: DeltaStore,
    campaign: CampaignConfig,
    run_id: str,
    wave: int,
    *,
    now: datetime | None = None,
) -> AllocationReport:
    """Decide and record wave `wave`'s weights, once: a decision already recorded is
    reported, not redone, so a retried task changes nothing the launch relies on."""
    require_adaptive(campaign, wave)
    variant_ids = [v.variant_id for v in campaign.variants]
    earlier = recorded(store, campaign, run_id)
    decided_waves = set(earlier["wave"].to_pylist())
    if wave in decided_waves:
        kept, counts = _as_decision(earlier, wave, variant_ids)
        return AllocationReport(campaign.campaign_id, run_id, wave, kept, counts, False)
    earlier_ids = [wave_run_id(run_id, k) for k in range(1, wave)]
    outcomes = wave_outcomes(store, campaign.retailer_id, earlier_ids, campaign.allocation.metric)
    counts = pooled(outcomes, variant_ids)
    _require_earlier_waves_sent(campaign, run_id, wave, decided_waves, outcomes)
    decision = _decision(campaign, run_id, wave, earlier, counts)
    store.insert_new(
        VARIANT_ALLOCATIONS.name,
        pa.Table.from_pylist(
            _rows(campaign, run_id, wave, decision, counts, now or datetime.now(UTC)),
            schema=store.arrow_schema(VARIANT_ALLOCATIONS.name),
        ),
        keys=ALLOCATION_KEYS,
        metadata={"allocation": f"{campaign.campaign_id} {run_id} wave {wave}"},
    )
    log.info("allocation of %s wave %d: %s", run_id, wave, decision.weights)
    return AllocationReport(campaign.campaign_id, run_id, wave, decision, counts, True)


def _decision(
    campaign: CampaignConfig,
    run_id: str,
    wave: int,
    earlier: pa.Table,
    counts: dict[str, ArmCounts],
) -> Decision:
    variant_ids = list(counts)
    if wave == 1:
        return even_split(variant_ids)
    winners = [w for w in earlier["winner_variant_id"].to_pylist() if w is not None]
    if winners:  # exploration stopped at an earlier wave: its winner keeps the rest
        return winner_takes_all(variant_ids, winners[0])
    seed = decision_seed(campaign.retailer_id, campaign.campaign_id, run_id, str(wave))
    return decide(counts, campaign.allocation.stop, seed=seed)


def _require_earlier_waves_sent(
    campaign: CampaignConfig,
    run_id: str,
    wave: int,
    decided_waves: set[int],
    outcomes: dict[str, dict[str, ArmCounts]],
) -> None:
    """Wave K is decided after waves 1..K-1 were decided and the last one sent something:
    deciding from nothing would be an even split wearing a decision's name."""
    if wave == 1:
        return
    missing = sorted(set(range(1, wave)) - decided_waves)
    if missing:
        raise AllocationError(
            f"{campaign.campaign_id} run {run_id}: wave(s) {missing} were never decided; "
            f"decide, launch and deliver the waves in order (campaigns decide-allocation "
            f"{campaign.campaign_id} --wave {missing[0]})"
        )
    if wave_run_id(run_id, wave - 1) not in outcomes:
        raise AllocationError(
            f"{campaign.campaign_id} run {run_id}: wave {wave - 1} has no sent message yet; "
            f"launch and deliver it (campaigns launch {campaign.campaign_id} --wave "
            f"{wave - 1}, campaigns deliver), ingest its events, then decide wave {wave}"
        )


def _as_decision(
    earlier: pa.Table, wave: int, variant_ids: list[str]
) -> tuple[Decision, dict[str, ArmCounts]]:
    """A recorded decision and the counts it was made from, as they were then."""
    found = earlier.filter(pc.equal(earlier["wave"], wave)).to_pylist()
    order = {v: i for i, v in enumerate(variant_ids)}
    rows = sorted(found, key=lambda r: order.get(r["variant_id"], len(order)))
    decision = Decision(
        weights={r["variant_id"]: r["weight"] for r in rows},
        prob_best={r["variant_id"]: r["prob_best"] for r in rows},
        value_remaining=rows[0]["value_remaining"],
        winner=rows[0]["winner_variant_id"],
    )
    return decision, {r["variant_id"]: ArmCounts(r["trials"], r["successes"]) for r in rows}


def _rows(
    campaign: CampaignConfig,
    run_id: str,
    wave: int,
    decision: Decision,
    counts: dict[str, ArmCounts],
    decided_at: datetime,
) -> list[dict[str, object]]:
    return [
        {
            "retailer_id": campaign.retailer_id,
            "campaign_id": campaign.campaign_id,
            "run_id": run_id,
            "wave": wave,
            "wave_run_id": wave_run_id(run_id, wave),
            "variant_id": variant_id,
            "weight": decision.weights[variant_id],
            "metric": campaign.allocation.metric,
            "trials": arm.trials,
            "successes": arm.successes,
            "alpha": arm.alpha,
            "beta": arm.beta,
            "prob_best": decision.prob_best[variant_id],
            "value_remaining": decision.value_remaining,
            "is_stopped": decision.is_stopped,
            "winner_variant_id": decision.winner,
            "decided_at": decided_at,
        }
        for variant_id, arm in counts.items()
    ]
