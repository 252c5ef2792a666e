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
import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs.audience.launches import launch_campaigns, plan_launches
from jobs.commands.common import emit, spark_job
from jobs.config import Conf, load_conf
from jobs.dev.clusters import (
    FlinkSession,
    ObjectStore,
    SparkCluster,
    flink_session,
    object_store,
    spark_standalone,
)
from jobs.dev.commands.seed import add_arguments as add_seed_arguments
from jobs.dev.commands.seed import seed
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

# Where `--on-clusters` keeps the clusters' logs and work folders, under the project
# root (git-ignored).
CLUSTERS_DIR = Path("var") / "clusters"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_seed_arguments(parser)
    parser.add_argument(
        "--on-clusters",
        action="store_true",
        help="run the Spark jobs on a standalone cluster and the delivery on a Flink session "
        "cluster, both started on loopback for the demo and stopped after it",
    )


def run(args: argparse.Namespace) -> int:
    if not args.on_clusters:
        return run_demo(args, load_conf(args.conf, profile=args.profile))
    with object_store(CLUSTERS_DIR) as bucket, _environment(bucket.env()):
        # the warehouse is in the bucket for every process started from here on
        conf = load_conf(args.conf, profile=args.profile)
        with (
            spark_standalone(CLUSTERS_DIR) as spark,
            flink_session(CLUSTERS_DIR, conf.root) as flink,
        ):
            emit(
                f"Spark standalone cluster at {spark.master_url}, Flink session at "
                f"{flink.rest_address}, warehouse at {conf.profile.warehouse_uri} "
                f"(S3 API at {bucket.endpoint})"
            )
            submit_args = f"--master {spark.master_url} pyspark-shell"
            # the driver, in this process, listens on loopback like the cluster
            with _environment({"PYSPARK_SUBMIT_ARGS": submit_args, "SPARK_LOCAL_IP": "127.0.0.1"}):
                run_demo(args, _on_flink_session(conf, flink))
            emit(where_it_ran(spark, flink, bucket))
    return 0


def run_demo(args: argparse.Namespace, conf: Conf) -> int:
    as_of = datetime.combine(args.as_of, datetime.min.time(), tzinfo=UTC)
    with spark_job(args, app_name="campaigns-demo", conf=conf) as job:
        seed(job, args)
        # adaptive campaigns go out in waves hours apart (their DAG), not in a demo
        fixed = [c for c, cc in job.conf.campaigns.items() if not cc.allocation.is_adaptive]
        launches = plan_launches(job.conf, sorted(fixed), as_of)
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
    with spark_job(args, app_name="campaigns-demo-results", conf=conf) as job:
        windows = job.conf.platform.reporting.attribution
        emit(recompute_attribution(job.warehouse, windows, sorted(job.conf.retailers)))
        register_catalog(job.spark, job.warehouse, job.conf, default_sql_dir(job.conf))
        emit(campaign_results(job.spark))
        for dashboard in write_dashboards(job.spark, job.conf, DEFAULT_DASHBOARD_DIR):
            emit(f"dashboard of {dashboard.retailer_id}: {dashboard.path}")
        tomorrow = today + timedelta(days=1)
        emit("\n".join(update_warming(job.spark, store, job.conf, tomorrow).lines()))
    return 0


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """`variables` set for what runs meanwhile (PYSPARK_SUBMIT_ARGS sends every Spark
    session to the cluster's master, as spark-submit does), then restored."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _on_flink_session(conf: Conf, flink: FlinkSession) -> Conf:
    """The same configuration, with the delivery submitted to the session cluster."""
    settings = {**conf.profile.flink.conf, **flink.remote_settings()}
    flink_settings = conf.profile.flink.model_copy(update={"conf": settings})
    return dataclasses.replace(
        conf, profile=conf.profile.model_copy(update={"flink": flink_settings})
    )


def where_it_ran(spark: SparkCluster, flink: FlinkSession, bucket: ObjectStore) -> str:
    """Each application and job as the clusters themselves recorded it, and what the
    warehouse holds in the bucket."""
    lines = [f"on the Spark master {spark.master_url}:"]
    lines += [
        f"  {app['name']:<24} {app['id']}  {app['state'].lower()}, {app['cores']} cores"
        for app in spark.completed_apps()
    ]
    lines.append(f"on the Flink session cluster {flink.rest_address}:")
    lines += [
        f"  {job['name']:<24} {job['jid']}  {job['state'].lower()}, {job['tasks']['total']} tasks"
        for job in flink.get("/jobs/overview")["jobs"]
    ]
    keys = bucket.keys("warehouse")
    tables = sorted({key.split("/")[2] for key in keys if "/_delta_log/" in key})
    lines.append(
        f"in the bucket s3://{bucket.bucket}/warehouse: {len(tables)} Delta tables, "
        f"{sum(key.endswith('.parquet') for key in keys)} data files"
    )
    return "\n".join(lines)
