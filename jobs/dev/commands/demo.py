"""`campaigns demo`: the pipeline end to end on the embedded local default.

Seed the warehouse and launch every configured campaign as of the seed's last day
(Spark), then deliver through the provider simulator on loopback (Flink), and
report. Then the results: provider events ingested, the orders customers placed
after (synthetic here), attribution, the per-campaign report and each retailer's
dashboard, and tomorrow's IP warming caps judged on today's email. Running it
again sends nothing twice and writes nothing new.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from jobs.audience.launches import launch_campaigns, plan_launches
from jobs.commands.common import emit, spark_job
from jobs.dev.commands.seed import add_arguments, seed
from jobs.dev.demo import demo_delivery
from jobs.dev.synthetic.outcomes import write_outcome_orders
from jobs.reporting.attribution_run import recompute_attribution
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.dashboards import DEFAULT_DASHBOARD_DIR, write_dashboards
from jobs.reporting.summary import campaign_results
from jobs.warehouse.store import DeltaStore
from jobs.warehouse.summary import format_summary
from jobs.warming.schedule import start_plan
from jobs.warming.update import update_warming

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-demo") as job:
        seed(job, args)
        launches = plan_launches(job.conf, sorted(job.conf.campaigns), as_of)
        emit("\n".join(launch_campaigns(job.conf, job.warehouse, launches, as_of=as_of).lines()))
        emit(format_summary(job.warehouse))
        conf = job.conf
    store = DeltaStore.from_profile(conf.profile)
    today = datetime.now(UTC).date()
    for retailer_id in sorted(conf.retailers):  # as onboarding does for a new retailer
        start_plan(store, conf, retailer_id, today)
    emit(demo_delivery(conf))
    window = conf.platform.reporting.conversion_window_days
    new_orders = write_outcome_orders(store, window_days=window)
    emit(f"orders placed after the campaigns (synthetic customers): {new_orders:,} new")
    with spark_job(args, app_name="campaigns-demo-results") as job:
        windows = job.conf.platform.reporting.attribution
        emit(recompute_attribution(job.warehouse, windows, sorted(job.conf.retailers)))
        register_catalog(job.spark, job.warehouse, job.conf, default_sql_dir(job.conf))
        emit(campaign_results(job.spark))
        for dashboard in write_dashboards(job.spark, job.conf, DEFAULT_DASHBOARD_DIR):
            emit(f"dashboard of {dashboard.retailer_id}: {dashboard.path}")
        tomorrow = today + timedelta(days=1)
        emit("\n".join(update_warming(job.spark, store, job.conf, tomorrow).lines()))
    return 0
