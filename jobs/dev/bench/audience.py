"""`campaigns bench audience`: launch one campaign per retailer in one run.

On the platform-scale seed (350 retailers, 1M customers, 10M orders) the
engine launches 350 winback campaigns at once; the same audience query
(features, rule, consent and contact suppression, variant, one row per
customer and channel, written as Parquet) runs in DuckDB on the same Parquet
files as a reference. Goals: under 60 s wall, within 3x of DuckDB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from jobs.audience.launch import CampaignLaunch, launch
from jobs.commands.common import emit, spark_job
from jobs.config import RetailerConfig
from jobs.config.loader import WAREHOUSE_URI_ENV
from jobs.dev.bench.seed import seed_spec
from jobs.dev.synthetic.campaigns import retailer_config, winback_campaign
from jobs.dev.synthetic.seed import seed_retailers, seed_warehouse
from jobs.quality.checks import QualityGate
from jobs.warehouse import Warehouse

BENCH_WAREHOUSE = Path("var/bench-warehouse")
BENCH_SECRET = b"benchmark-only-secret"
PIPELINE_TABLES = ("campaign_events", "campaign_runs")


def run(args: argparse.Namespace) -> int:
    os.environ[WAREHOUSE_URI_ENV] = str(BENCH_WAREHOUSE.resolve())
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-bench-audience") as job:
        retailers = seed_retailers(job.conf, args.retailers)
        seeded = seed_warehouse(job.warehouse, retailers, seed_spec(args))
        emit(
            f"bench audience: warehouse {BENCH_WAREHOUSE} "
            f"({'reused' if seeded.skipped else 'seeded'}: {seeded.rows})"
        )
        configs = [retailer_config(job.conf, r) for r in retailers]
        launches = [
            CampaignLaunch(winback_campaign(c), c, f"{c.retailer_id}-bench") for c in configs
        ]
        timings = {}
        for label, gate in (("without quality gates", None), ("with quality gates", QualityGate())):
            _drop_pipeline_tables(job.warehouse)
            started = time.perf_counter()
            report = launch(
                job.warehouse, launches, as_of=as_of, promo_secret=BENCH_SECRET, gate=gate
            )
            timings[label] = time.perf_counter() - started
            events = sum(s.events for s in report.launched)
            emit(
                f"bench audience: {len(launches)} campaigns, {events:,} events, "
                f"{label}: wall {timings[label]:.1f} s ({events / timings[label]:,.0f} events/s)"
            )
        duck_seconds, duck_rows = duckdb_reference(job.warehouse, configs, as_of)
    spark_seconds = timings["without quality gates"]
    emit(
        f"bench audience: DuckDB reference {duck_seconds:.1f} s ({duck_rows:,} rows, 2 threads); "
        f"engine/DuckDB = {spark_seconds / duck_seconds:.2f}x "
        f"(goal: engine under 60 s, within 3x)"
    )
    return 0


def _drop_pipeline_tables(warehouse: Warehouse) -> None:
    """The bench owns its warehouse: each measured launch starts from no history."""
    for name in PIPELINE_TABLES:
        shutil.rmtree(warehouse.uri(name), ignore_errors=True)


def duckdb_reference(
    warehouse: Warehouse, retailers: list[RetailerConfig], as_of: datetime
) -> tuple[float, int]:
    """The same audience query in DuckDB over the same snapshot files; (seconds, rows)."""
    files = {
        name: warehouse.delta_table(name).file_uris()
        for name in ("customers", "orders", "consents")
    }
    out_dir = tempfile.mkdtemp(prefix="campaigns-duckdb-")
    connection = duckdb.connect()
    connection.execute("set threads to 2")
    connection.execute("create table retailer_channels (retailer_id varchar, channel varchar)")
    connection.executemany(
        "insert into retailer_channels values (?, ?)",
        [(r.retailer_id, ch) for r in retailers for ch in r.channels],
    )
    started = time.perf_counter()
    connection.execute(
        _REFERENCE_SQL.format(out=f"{out_dir}/events.parquet"),
        {
            "customers": files["customers"],
            "orders": files["orders"],
            "consents": files["consents"],
            "as_of": as_of.replace(tzinfo=None),
        },
    )
    seconds = time.perf_counter() - started
    rows = connection.execute(f"select count(*) from '{out_dir}/events.parquet'").fetchone()
    shutil.rmtree(out_dir, ignore_errors=True)
    return seconds, int(rows[0]) if rows else 0


_REFERENCE_SQL = """
copy (
with orders as (
    select * from read_parquet($orders, hive_partitioning = true)
    where ordered_at < $as_of
),
features as (
    select retailer_id, customer_id,
           max(ordered_at) as last_order_at,
           count(*) filter (where ordered_at >= $as_of - interval 365 day) as order_count_365d,
           sum(total_cents) as lifetime_spend_cents
    from orders
    group by all
),
audience as (
    select c.retailer_id, c.customer_id, c.email, c.push_token, f.lifetime_spend_cents
    from read_parquet($customers, hive_partitioning = true) as c
    join features as f using (retailer_id, customer_id)
    where c.signup_at <= $as_of
      and date_diff('day', f.last_order_at, $as_of) >= 30
      and f.order_count_365d >= 2
),
candidates as (
    select a.*, rc.channel,
           case when rc.channel = 'email' then a.email else a.push_token end as address
    from audience as a
    join retailer_channels as rc using (retailer_id)
),
decided as (
    select cand.*,
           case when cons.unsubscribed_at is not null then 'unsubscribed'
                when not coalesce(cons.is_opted_in, false) then 'no_consent'
                when cand.channel = 'email'
                     and not coalesce(regexp_matches(cand.address,
                                      '^[^@\\s]+@[^@\\s]+\\.[A-Za-z]{{2,}}$'), false)
                     then 'invalid_contact'
                when cand.address is null then 'invalid_contact'
           end as suppression_reason
    from candidates as cand
    left join read_parquet($consents, hive_partitioning = true) as cons
        using (retailer_id, customer_id, channel)
)
select retailer_id, customer_id, channel, address,
       sha256(concat_ws('|', 'bench', retailer_id, customer_id, channel))[1:32] as message_id,
       case when hash(retailer_id, customer_id) % 10 = 0 then 'holdout'
            when hash(retailer_id, customer_id) % 2 = 0 then 'control' else 'offer'
       end as variant_id
from decided
where suppression_reason is null
) to '{out}' (format parquet)
"""
