"""The commands that are not jobs of their own: demo, summary and results."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from jobs import launch_job, seed_job
from jobs.attribute_job import attribute
from jobs.dashboard_job import DEFAULT_OUT as DASHBOARDS
from jobs.delivery.demo import demo_delivery
from jobs.reporting.catalog import default_sql_dir, register_catalog
from jobs.reporting.dashboards import write_dashboards
from jobs.reporting.summary import campaign_results
from jobs.runtime import emit, spark_job
from jobs.seed_job import add_arguments as add_demo_arguments
from jobs.summary import format_summary
from jobs.synthetic.outcomes import write_outcome_orders
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import start_plan
from jobs.warming.update import update_warming

__all__ = ["add_demo_arguments", "demo", "results", "summary"]


def summary(args: argparse.Namespace) -> int:
    with spark_job(args, app_name="campaigns-summary") as job:
        emit(format_summary(job.warehouse))
    return 0


def results(args: argparse.Namespace) -> int:
    """The per-campaign results table (rpt_campaign_performance), as the demo ends with it."""
    with spark_job(args, app_name="campaigns-results") as job:
        register_catalog(
            job.spark,
            job.warehouse,
            job.conf,
            default_sql_dir(job.conf),
            views=("rpt_campaign_performance",),
        )
        emit(campaign_results(job.spark))
    return 0


def demo(args: argparse.Namespace) -> int:
    """The pipeline end to end on the embedded default: seed the warehouse and
    launch every configured campaign as of the seed's last day (Spark), then
    deliver through the provider simulator on loopback (Flink), and report.
    Then the results: provider events ingested, the orders customers placed after
    (synthetic here), attribution, the per-campaign report and each retailer's
    dashboard, and tomorrow's IP warming caps judged on today's email. Running it
    again sends nothing twice and writes nothing new."""
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-demo") as job:
        seed_job.seed(job, args)
        launches = launch_job.plan_launches(job.conf, sorted(job.conf.campaigns), as_of)
        launch_job.launch_campaigns(job, launches, as_of=as_of)
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
        emit(attribute(job, sorted(job.conf.retailers)))
        register_catalog(job.spark, job.warehouse, job.conf, default_sql_dir(job.conf))
        emit(campaign_results(job.spark))
        for dashboard in write_dashboards(job.spark, job.conf, DASHBOARDS):
            emit(f"dashboard of {dashboard.retailer_id}: {dashboard.path}")
        tomorrow = today + timedelta(days=1)
        emit("\n".join(update_warming(job.spark, store, job.conf, tomorrow).lines()))
    return 0
