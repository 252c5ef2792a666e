"""`campaigns bench send-time`: optimized send times against sending at once.

Customers of one retailer, in three North American zones, each with the simulator's
hidden reading hour, receive weeks of past email at random hours; the simulator's own
engagement model (jobs/dev/simulator/state.py) decides who opens and when, and those
opens become `delivery_events`. The launch's send-time optimization
(jobs/audience/send_time.py, on Spark) then picks each customer's hour for a new
campaign; the same audience is sent once at the launch instant and once at the chosen
times, and the open rates are compared with a 95% interval on the difference.
"""

from __future__ import annotations

import argparse
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession

from jobs.audience.send_time import with_send_after
from jobs.commands.common import emit
from jobs.config import load_conf
from jobs.config.models import CampaignConfig, SendTime
from jobs.dev.simulator.state import EngagementRates, engagement_events, preferred_hour
from jobs.warehouse import build_spark, table_spec

RETAILER, WORKSPACE = "fresh-mart", "ws-freshmart"
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
LAUNCH = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
Z_95 = 1.959964


@dataclass(frozen=True)
class Comparison:
    customers: int
    immediate_opens: int
    optimized_opens: int
    ceiling_opens: int  # each customer sent at their true (hidden) reading hour

    @property
    def immediate_rate(self) -> float:
        return self.immediate_opens / self.customers

    @property
    def optimized_rate(self) -> float:
        return self.optimized_opens / self.customers

    @property
    def lift(self) -> float:
        return self.optimized_rate - self.immediate_rate

    def interval(self) -> tuple[float, float]:
        """95% interval of the difference of two independent proportions."""
        a, b, n = self.optimized_rate, self.immediate_rate, self.customers
        half = Z_95 * math.sqrt(a * (1 - a) / n + b * (1 - b) / n)
        return self.lift - half, self.lift + half

    def line(self, seed: int) -> str:
        low, high = self.interval()
        ceiling = self.ceiling_opens / self.customers
        return (
            f"seed {seed}: {self.customers:,} customers, open rate at once "
            f"{self.immediate_rate:.1%}, at optimized times {self.optimized_rate:.1%} "
            f"(at each one's true reading hour: {ceiling:.1%}): lift "
            f"{100 * self.lift:+.1f} points (95% interval {100 * low:+.1f} to {100 * high:+.1f})"
        )


def _message(customer_id: str, sent_at: datetime, tag: str) -> dict[str, object]:
    return {
        "message_id": f"{tag}-{customer_id}",
        "customer_id": customer_id,
        "workspace_id": WORKSPACE,
        "channel": "email",
        "accepted_at": sent_at.isoformat(),
        "dispatch_id": tag,
    }


def history(
    customers: int, sends: int, rates: EngagementRates, seed: int
) -> list[dict[str, object]]:
    """delivery_events rows of `sends` past emails per customer at random hours of the
    four weeks before the launch."""
    draw = random.Random(seed)
    rows = []
    for n in range(customers):
        customer_id = f"c{n:06d}"
        for k in range(sends):
            sent_at = LAUNCH - timedelta(days=28) + timedelta(seconds=draw.randrange(27 * 86_400))
            message = _message(customer_id, sent_at, f"h{seed}-{k}")
            for event in engagement_events(message, rates):
                rows.append(
                    {
                        "retailer_id": RETAILER,
                        "event_id": str(uuid.uuid4()),
                        "message_id": event["message_id"],
                        "customer_id": customer_id,
                        "channel": "email",
                        "event_type": event["event_type"],
                        "dispatch_id": None,
                        "occurred_at": datetime.fromisoformat(str(event["occurred_at"])),
                        "workspace_id": WORKSPACE,
                        "ip_pool": "shared-a",
                        "ingested_at": LAUNCH,
                    }
                )
    return rows


def audience(spark: SparkSession, customers: int, campaign_id: str) -> DataFrame:
    rows = [
        (RETAILER, campaign_id, f"c{n:06d}", ZONES[n % len(ZONES)], False) for n in range(customers)
    ]
    return spark.createDataFrame(
        rows,
        "retailer_id string, campaign_id string, customer_id string, time_zone string, "
        "is_holdout boolean",
    )


def compare(
    spark: SparkSession,
    campaign: CampaignConfig,
    *,
    customers: int,
    past_sends: int,
    rates: EngagementRates,
    seed: int,
) -> Comparison:
    """The same audience sent at the launch instant and at its optimized times."""
    optimized = campaign.model_copy(update={"send_time": SendTime(mode="optimized")})
    events_df = spark.createDataFrame(
        history(customers, past_sends, rates, seed), table_spec("delivery_events").schema
    )
    audience_df = audience(spark, customers, optimized.campaign_id)
    zones_df = audience_df.select("retailer_id", "customer_id", "time_zone")
    chosen = with_send_after(audience_df, [optimized], events_df, zones_df, as_of=LAUNCH).collect()
    opened = {"immediate": 0, "optimized": 0, "ceiling": 0}
    for row in chosen:
        reading = LAUNCH.replace(hour=preferred_hour(f"{WORKSPACE}/{row['customer_id']}"))
        arms = (
            ("immediate", LAUNCH),
            ("optimized", row["send_after"]),
            ("ceiling", reading if reading >= LAUNCH else reading + timedelta(days=1)),
        )
        for arm, sent_at in arms:
            message = _message(row["customer_id"], sent_at, f"{arm}-{seed}")
            kinds = {e["event_type"] for e in engagement_events(message, rates)}
            opened[arm] += "opened" in kinds
    return Comparison(len(chosen), opened["immediate"], opened["optimized"], opened["ceiling"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--past-sends", type=int, default=8, help="emails each customer got before")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--lift",
        type=float,
        default=0.5,
        help="the simulator's preferred_hour_lift: how much more often a message that "
        "arrives at the customer's reading hour is opened",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    spark = build_spark(conf.profile, app_name="campaigns-bench-send-time")
    rates = EngagementRates(preferred_hour_lift=args.lift)
    campaign = conf.campaign("fresh-mart-winback")
    lifts = []
    for seed in range(1, args.seeds + 1):
        result = compare(
            spark,
            campaign,
            customers=args.customers,
            past_sends=args.past_sends,
            rates=rates,
            seed=seed,
        )
        lifts.append(result.lift)
        emit(result.line(seed))
    emit(
        f"send-time optimization over {args.seeds} seeds: mean lift in open rate "
        f"{100 * sum(lifts) / len(lifts):+.1f} points (min {100 * min(lifts):+.1f}, max "
        f"{100 * max(lifts):+.1f}); goal: above 0, with every seed's interval above 0"
    )
    return 0
