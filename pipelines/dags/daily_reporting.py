"""Daily, before the morning's campaigns: results for analysts and marketers, warming caps.

ingest_events -> attribute_orders -> update_warming -> campaign_results
                                  \\-> publish_dashboards

ROI, experiment readouts and deliverability are the sql/ reports (views over the
tables): attribution refreshes what they read, `campaign_results` prints the
per-campaign readout into the task log, and the dashboards are rebuilt from them.
The warming update judges yesterday's deliverability and writes today's caps,
which the day's deliveries enforce.
"""

from __future__ import annotations

from airflow.sdk import DAG

from campaigns_tasks import DEFAULT_ARGS, START, job_task

with DAG(
    dag_id="daily_reporting",
    description="attribution, ROI and experiment readouts, deliverability, warming, dashboards",
    schedule="0 5 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["campaigns", "results", "warming"],
    doc_md=__doc__,
) as dag:
    ingest = job_task("ingest_events", ["ingest-events"])
    attribute = job_task("attribute_orders", ["attribute"], "spark")
    warming = job_task("update_warming", ["update-warming", "--date", "{{ ds }}"], "spark")
    results = job_task("campaign_results", ["summary"], "spark")
    dashboards = job_task("publish_dashboards", ["dashboard"], "spark")
    ingest >> attribute >> [warming, dashboards]
    warming >> results
