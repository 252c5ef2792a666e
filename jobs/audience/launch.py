"""A campaign launch from warehouse tables to the event stream.

`decide` and `plan_events` are pure DataFrame transformations; `launch`
adds the I/O around them: read the inputs of the launched retailers only,
gate on data quality, write the events in one idempotent commit, then the run
rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.allocation.waves import WaveLaunch
from jobs.audience.events import (
    RunStats,
    run_statistics,
    to_campaign_events,
)
from jobs.audience.features import FeatureWindows, with_customer_features
from jobs.audience.offers import with_offer
from jobs.audience.rules import campaign_audience_column
from jobs.audience.send_time import with_send_after
from jobs.audience.suppression import with_channel_candidates, with_suppression_reason
from jobs.audience.variants import in_wave_column, with_variant
from jobs.config.models import CampaignConfig, RetailerConfig
from jobs.quality.checks import QualityGate, require
from jobs.quality.suites import check_events, refused_retailers, repeated_messages
from jobs.templates.variables import PROFILE_VARIABLES
from jobs.warehouse import RunTag, Warehouse, table_spec

log = logging.getLogger(__name__)
RUN_STATS_KEY = "campaign_runs"
# How many of campaign_events' newest commits a launch searches for a torn run.
RECOVERY_LOOK_BACK = 200
# What the events and the run statistics need of a decided candidate: caching only
# these keeps a 350-campaign launch's working set small.
DECIDED_COLUMNS = (
    "retailer_id",
    "campaign_id",
    "run_id",
    "customer_id",
    "channel",
    "address",
    "is_first_channel",
    "suppression_reason",
    "variant_id",
    "is_holdout",
    "lifetime_spend_cents",
    "time_zone",
    *PROFILE_VARIABLES,
)


@dataclass(frozen=True)
class CampaignLaunch:
    campaign: CampaignConfig
    retailer: RetailerConfig
    run_id: str
    # One wave of an adaptive run: its slice of the audience and its decided weights
    # (`run_id` is then the wave's own, <logical run>-w<K>).
    wave: WaveLaunch | None = None


def batch_tag(run_ids: Sequence[str]) -> RunTag:
    """One launch writes the events of many runs in one commit, tagged with one Delta
    application transaction named after exactly those runs: retrying the same launch
    commits nothing. (delta-spark records one `txn` a write, so the runs are listed in
    the commit's metadata, where `committed_run_ids` finds them.)"""
    digest = hashlib.sha256("\n".join(sorted(run_ids)).encode()).hexdigest()[:32]
    return RunTag(app_id=f"campaigns-engine:launch:{digest}", version=1)


@dataclass(frozen=True)
class LaunchInputs:
    customers_df: DataFrame
    orders_df: DataFrame
    consents_df: DataFrame
    history_df: DataFrame
    delivery_events_df: DataFrame

    def only(self, retailer_ids: list[str]) -> LaunchInputs:
        """The same inputs limited to some retailers (those whose rows passed the checks),
        without listing the tables again."""
        kept = F.col("retailer_id").isin(retailer_ids)
        return LaunchInputs(*(getattr(self, f.name).filter(kept) for f in fields(self)))


@dataclass(frozen=True)
class LaunchReport:
    launched: list[RunStats]
    already_launched: list[str]
    # Runs not launched because their retailer's rows failed a per-retailer check, and why.
    refused: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """One line a run: what was launched (audience, suppressions, events), skipped or
        refused (and why)."""
        lines = [
            f"already launched (nothing written): {run_id}" for run_id in self.already_launched
        ]
        lines += [
            f"refused {run_id} (nothing written): {'; '.join(reasons)}"
            for run_id, reasons in sorted(self.refused.items())
        ]
        for s in self.launched:
            reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(s.suppressed_by_reason.items()))
            lines.append(
                f"launched {s.run_id} ({s.retailer_id}): audience {s.audience_customers:,} "
                f"customers, {s.audience_size:,} messages; suppressed "
                f"{sum(s.suppressed_by_reason.values()):,} ({reasons or 'none'}); "
                f"events {s.events:,} (holdout {s.holdout_size:,})"
            )
        return lines


def default_run_id(campaign_id: str, as_of: datetime) -> str:
    """One run per campaign and logical day, so a scheduler's retry is the same run."""
    return f"{campaign_id}-{as_of:%Y%m%d}"


def launches_df(spark: SparkSession, launches: Sequence[CampaignLaunch]) -> DataFrame:
    rows = [
        (
            launch_.retailer.retailer_id,
            launch_.campaign.campaign_id,
            launch_.run_id,
            list(launch_.campaign.channels),
            launch_.retailer.frequency_cap.max_messages,
            launch_.retailer.frequency_cap.window_days,
            launch_.retailer.timezone,
        )
        for launch_ in launches
    ]
    return spark.createDataFrame(
        rows,
        "retailer_id string, campaign_id string, run_id string, channels array<string>, "
        "frequency_max int, frequency_window_days int, retailer_time_zone string",
    )


# IANA zone names Python knows; a customer's zone outside them falls back to the retailer's.
KNOWN_TIME_ZONES = sorted(zoneinfo.available_timezones())


def customer_zones(customers_df: DataFrame, launches: Sequence[CampaignLaunch]) -> DataFrame:
    """(retailer, customer, time_zone) of every customer of the launched retailers."""
    retailer_zones_df = launches_df(customers_df.sparkSession, launches).select(
        "retailer_id", "retailer_time_zone"
    )
    return (
        customers_df.join(F.broadcast(retailer_zones_df.distinct()), on="retailer_id")
        .withColumn("time_zone", resolved_time_zone())
        .select("retailer_id", "customer_id", "time_zone")
    )


def resolved_time_zone() -> Column:
    """The customer's own zone where it is a known IANA name, else the retailer's."""
    return F.when(F.col("time_zone").isin(KNOWN_TIME_ZONES), F.col("time_zone")).otherwise(
        F.col("retailer_time_zone")
    )


def decide(
    inputs: LaunchInputs, launches: Sequence[CampaignLaunch], *, as_of: datetime
) -> DataFrame:
    """Every (campaign, customer, channel) in an audience, with its suppression reason
    (null when it goes out) and its variant."""
    campaigns = [launch_.campaign for launch_ in launches]
    waves = {lo.campaign.campaign_id: lo.wave for lo in launches if lo.wave is not None}
    features_df = with_customer_features(
        inputs.customers_df,
        inputs.orders_df,
        as_of=as_of,
        windows=FeatureWindows.for_campaigns(campaigns),
    )
    audience_df = features_df.join(
        F.broadcast(launches_df(features_df.sparkSession, launches)),
        on="retailer_id",
        how="inner",
    ).filter(campaign_audience_column(campaigns) & in_wave_column(waves))
    audience_df = audience_df.withColumn("time_zone", resolved_time_zone())
    return (
        with_channel_candidates(audience_df)
        .withColumn("is_first_channel", F.col("channel") == F.element_at("channels", 1))
        .transform(
            lambda df: with_suppression_reason(
                df,
                consents_df=inputs.consents_df,
                history_df=inputs.history_df,
                delivery_events_df=inputs.delivery_events_df,
                as_of=as_of,
                current_run_ids=[launch_.run_id for launch_ in launches],
            )
        )
        .transform(lambda df: with_variant(df, campaigns, waves))
        .select(*DECIDED_COLUMNS)
    )


def plan_events(
    decided_df: DataFrame,
    launches: Sequence[CampaignLaunch],
    *,
    as_of: datetime,
    created_at: datetime,
    promo_secret: bytes | None,
    delivery_events_df: DataFrame,
    customer_zones_df: DataFrame,
) -> DataFrame:
    """The campaign_events rows: eligible candidates with offers, promo codes and, for a
    campaign that asks for it, each message's optimized send time."""
    campaigns = [launch_.campaign for launch_ in launches]
    return (
        decided_df.filter(F.col("suppression_reason").isNull())
        .transform(lambda df: with_offer(df, campaigns, as_of=as_of, promo_secret=promo_secret))
        .transform(
            lambda df: with_send_after(
                df, campaigns, delivery_events_df, customer_zones_df, as_of=as_of
            )
        )
        .transform(lambda df: to_campaign_events(df, campaigns, created_at=created_at))
    )


def read_inputs(warehouse: Warehouse, retailer_ids: list[str]) -> LaunchInputs:
    """Only the launched retailers' partitions are read: tenants never mix, and it is faster."""
    only = {"retailer_id": retailer_ids}
    return LaunchInputs(
        customers_df=warehouse.read("customers", partitions=only),
        orders_df=warehouse.read("orders", partitions=only),
        consents_df=warehouse.read("consents", partitions=only),
        history_df=warehouse.read_or_empty("campaign_events", partitions=only),
        delivery_events_df=warehouse.read_or_empty("delivery_events", partitions=only),
    )


def launch(
    warehouse: Warehouse,
    launches: Sequence[CampaignLaunch],
    *,
    as_of: datetime,
    promo_secret: bytes | None,
    gate: QualityGate | None,
) -> LaunchReport:
    """Launch campaigns in one Spark job and one Delta commit; launched runs are skipped."""
    committed = committed_run_ids(warehouse, [launch_.run_id for launch_ in launches])
    pending = [launch_ for launch_ in launches if launch_.run_id not in committed]
    done = [launch_.run_id for launch_ in launches if launch_.run_id in committed]
    if not pending:
        return LaunchReport([], done)
    started_at = datetime.now(UTC)
    clock = _PhaseClock()
    inputs = read_inputs(warehouse, sorted({lo.retailer.retailer_id for lo in pending}))
    refused: dict[str, list[str]] = {}
    if gate is not None:
        reasons = refused_retailers(
            inputs.customers_df, inputs.orders_df, inputs.consents_df, now=started_at
        )
        pending, refused = _without_refused_retailers(pending, reasons)
        if not pending:
            return LaunchReport([], done, refused)
    inputs = inputs.only(sorted({launch_.retailer.retailer_id for launch_ in pending}))
    clock.mark("reading inputs and the input quality gate")
    decided_df = decide(inputs, pending, as_of=as_of).cache()
    events_df: DataFrame | None = None
    try:
        stats = run_statistics(decided_df)  # the first action: computes and caches decisions
        clock.mark("audience, suppression, variants and run statistics")
        events_df = plan_events(
            decided_df,
            pending,
            as_of=as_of,
            created_at=started_at,
            promo_secret=promo_secret,
            delivery_events_df=inputs.delivery_events_df,
            customer_zones_df=customer_zones(inputs.customers_df, pending),
        ).repartition("retailer_id")  # each task writes whole retailers: a file per partition
        written_df = events_df
        if gate is not None:
            events_df = events_df.cache()
            repeated = repeated_messages(events_df)
            pending, refused_now = _without_refused_retailers(pending, repeated)
            refused |= refused_now
            stats = [s for s in stats if s.retailer_id not in repeated]
            written_df = events_df.filter(~F.col("retailer_id").isin(sorted(repeated)))
            require(check_events(gate, written_df, [lo.campaign for lo in pending]), "launch")
            clock.mark("offers, events and the output quality gate")
        if pending:
            _write_events(warehouse, written_df, stats, pending, as_of, started_at)
            clock.mark("writes")
    finally:
        decided_df.unpersist()
        if events_df is not None:
            events_df.unpersist()
    return LaunchReport(stats, done, refused)


def _write_events(
    warehouse: Warehouse,
    events_df: DataFrame,
    stats: Sequence[RunStats],
    launches: Sequence[CampaignLaunch],
    as_of: datetime,
    started_at: datetime,
) -> None:
    """The events in one commit tagged with the runs (so a repeat writes nothing) and
    carrying their statistics, then the run rows."""
    warehouse.write(
        events_df,
        "campaign_events",
        run=batch_tag([launch_.run_id for launch_ in launches]),
        metadata={
            "job": "campaigns-engine",
            RUN_STATS_KEY: json.dumps([asdict(s) for s in stats]),
            "as_of": as_of.isoformat(),
            "started_at": started_at.isoformat(),
        },
    )
    _write_run_rows(warehouse, stats, as_of=as_of, started_at=started_at)


def _without_refused_retailers(
    launches: list[CampaignLaunch], reasons: dict[str, list[str]]
) -> tuple[list[CampaignLaunch], dict[str, list[str]]]:
    """The launches of retailers without `reasons`, and for each other run why it is
    refused: one tenant's broken feed stops its own campaigns only."""
    kept = [lo for lo in launches if lo.retailer.retailer_id not in reasons]
    refused = {
        lo.run_id: [
            f"retailer {lo.retailer.retailer_id}: {r}" for r in reasons[lo.retailer.retailer_id]
        ]
        for lo in launches
        if lo.retailer.retailer_id in reasons
    }
    for run_id, why in refused.items():
        log.error("launch of %s refused: %s", run_id, "; ".join(why))
    return kept, refused


class _PhaseClock:
    """Logs how long each phase of a launch took."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        log.info("%s: %.1f s", phase, now - self._last)
        self._last = now


def committed_run_ids(warehouse: Warehouse, run_ids: Sequence[str]) -> set[str]:
    """The runs whose events are committed: those with a `campaign_runs` row, and those
    a recent events commit lists but whose row a crash kept from being written (the row
    is written now, from the statistics kept in that commit)."""
    wanted = set(run_ids)
    if not wanted or not warehouse.exists("campaign_events"):
        return set()
    runs = warehouse.store.read_arrow("campaign_runs", columns=["run_id"])
    with_row = wanted & set(runs.column("run_id").to_pylist())
    return with_row | _complete_run_rows(warehouse, wanted - with_row)


def _write_run_rows(
    warehouse: Warehouse, stats: Sequence[RunStats], *, as_of: datetime, started_at: datetime
) -> None:
    finished_at = datetime.now(UTC)
    rows = [
        (
            s.retailer_id,
            s.run_id,
            s.campaign_id,
            as_of,
            started_at,
            finished_at,
            s.audience_customers,
            s.audience_size,
            s.suppressed_by_reason,
            s.holdout_size,
            s.events,
        )
        for s in stats
    ]
    runs_df = warehouse.spark.createDataFrame(rows, table_spec("campaign_runs").schema)
    warehouse.insert_new(runs_df, "campaign_runs", keys=("retailer_id", "run_id"))


def _complete_run_rows(warehouse: Warehouse, missing: set[str]) -> set[str]:
    """Recover `campaign_runs` rows for runs whose events were committed but whose row was
    not (a crash between the two commits), from the statistics kept in the events commit.

    The crash lies between two consecutive commits of one launch, so the newest
    RECOVERY_LOOK_BACK commits of campaign_events are enough to find it.
    """
    recovered_ids: set[str] = set()
    if not missing:
        return recovered_ids
    commits = warehouse.store.commit_metadata("campaign_events", look_back=RECOVERY_LOOK_BACK)
    for commit in commits:
        stats = [RunStats(**s) for s in json.loads(commit.get(RUN_STATS_KEY, "[]"))]
        recovered = [s for s in stats if s.run_id in missing]
        if recovered:
            log.warning("recovering campaign_runs rows for %s", [s.run_id for s in recovered])
            _write_run_rows(
                warehouse,
                recovered,
                as_of=datetime.fromisoformat(str(commit["as_of"])),
                started_at=datetime.fromisoformat(str(commit["started_at"])),
            )
            recovered_ids |= {s.run_id for s in recovered}
    return recovered_ids
