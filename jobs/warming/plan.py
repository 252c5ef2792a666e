"""The IP warming state machine: one pool, one day at a time, pure.

Each morning the pool's previous state and yesterday's email deliverability give
today's state. A good day advances the ramp one step; a bad day (delivery at
most 90%, bounces above 5% or complaints above 0.1%, by default) holds the cap;
`back_off_after_bad_days` bad days in a row step the ramp back. A day without
email, or with too little of its cap used, proves nothing and holds. The cap of
step n grows geometrically from the plan's start volume to the pool's capacity,
reached on the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jobs.config.models import IpPool, WarmingPlan, WarmingSettings

State = Literal["ramping", "holding", "backing_off", "warmed"]


@dataclass(frozen=True)
class PoolDay:
    """A pool's email on one day, summed over its retailers."""

    sent: int
    delivered: int
    bounced: int
    complaints: int

    @property
    def delivery_rate(self) -> float:
        return self.delivered / self.sent if self.sent else 0.0

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0


NO_EMAIL = PoolDay(sent=0, delivered=0, bounced=0, complaints=0)


@dataclass(frozen=True)
class PoolState:
    step: int  # 0 on the first day of the plan
    state: State
    bad_days: int  # consecutive
    daily_cap: int
    reason: str


def ramp_cap(plan: WarmingPlan, capacity: int, step: int) -> int:
    """The cap on step `step`: start x growth^step, the pool's capacity on the last step."""
    last = plan.ramp_days - 1
    if step >= last:
        return capacity
    growth = (capacity / plan.start_daily_volume) ** (1 / last)
    return min(capacity, round(plan.start_daily_volume * growth**step))


def first_day(pool: IpPool) -> PoolState:
    assert pool.warming is not None
    return PoolState(
        step=0,
        state="ramping",
        bad_days=0,
        daily_cap=ramp_cap(pool.warming, pool.daily_capacity, 0),
        reason=f"warming plan started at {pool.warming.start_daily_volume:,} a day",
    )


def next_day(
    previous: PoolState, yesterday: PoolDay, pool: IpPool, settings: WarmingSettings
) -> PoolState:
    """Today's state from yesterday's: advance, hold or back off."""
    assert pool.warming is not None
    last = pool.warming.ramp_days - 1
    breaches = threshold_breaches(yesterday, settings)
    if yesterday.sent == 0:
        return _at(previous.step, "holding", previous.bad_days, pool, "no email sent")
    used = yesterday.sent / previous.daily_cap
    if not breaches and used < settings.advance_when_used_share:
        reason = f"held: sent {yesterday.sent:,} of a cap of {previous.daily_cap:,} ({used:.0%})"
        return _at(previous.step, "warmed" if previous.step == last else "holding", 0, pool, reason)
    if not breaches:
        step = min(previous.step + 1, last)
        state: State = "warmed" if step == last else "ramping"
        return _at(step, state, 0, pool, "good day: " + figures(yesterday))
    bad_days = previous.bad_days + 1
    if bad_days >= settings.back_off_after_bad_days:
        step = max(0, previous.step - settings.back_off_steps)
        steps = previous.step - step
        moved = f"backed off {steps} step{'s' * (steps > 1)}" if steps else "held"
        reason = f"{moved} after {bad_days} bad days: " + "; ".join(breaches)
        return _at(step, "backing_off", 0, pool, reason)
    return _at(previous.step, "holding", bad_days, pool, "; ".join(breaches))


def threshold_breaches(day: PoolDay, settings: WarmingSettings) -> list[str]:
    """Each configured threshold yesterday's email crossed, with its figure."""
    hold = settings.hold_when
    breaches = []
    if day.sent and day.delivery_rate <= hold.delivery_rate_at_most:
        breaches.append(f"delivered {day.delivery_rate:.1%} <= {hold.delivery_rate_at_most:.1%}")
    if day.bounce_rate > hold.bounce_rate_above:
        breaches.append(f"bounces {day.bounce_rate:.1%} > {hold.bounce_rate_above:.1%}")
    if day.complaint_rate > hold.complaint_rate_above:
        breaches.append(f"complaints {day.complaint_rate:.2%} > {hold.complaint_rate_above:.2%}")
    return breaches


def _at(step: int, state: State, bad_days: int, pool: IpPool, reason: str) -> PoolState:
    assert pool.warming is not None
    cap = ramp_cap(pool.warming, pool.daily_capacity, step)
    return PoolState(step=step, state=state, bad_days=bad_days, daily_cap=cap, reason=reason)


def figures(day: PoolDay) -> str:
    return (
        f"{day.sent:,} sent, delivered {day.delivery_rate:.1%}, bounces {day.bounce_rate:.1%}, "
        f"complaints {day.complaint_rate:.2%}"
    )


def shares(pool_cap: int, retailer_ids: list[str]) -> dict[str, int]:
    """The pool's cap split evenly over the retailers sharing it (the remainder to the first)."""
    ordered = sorted(retailer_ids)
    if not ordered:
        return {}
    each, remainder = divmod(pool_cap, len(ordered))
    return {rid: each + (1 if index < remainder else 0) for index, rid in enumerate(ordered)}
