"""Airflow DAG, daily before the morning's campaigns: results, dashboards, warming caps.

ingest_events -> attribute_orders -> update_warming -> campaign_results -> table_upkeep
                                  \\-> publish_dashboards ------------------/

ROI, experiment readouts and deliverability are the sql/ reports (views over the
tables): attribution refreshes what they read, `campaign_results` prints each
campaign's results into the task log, and the dashboards are rebuilt from them.
The warming update judges yesterday's deliverability and writes today's caps,
which the day's deliveries enforce. Table upkeep comes last, when the day's readers are
done: it compacts, checkpoints and vacuums, keeping every version a job reads back.
"""

from __future__ import annotations

from campaigns_tasks import campaigns_dag, job_task

with campaigns_dag(
    "daily_reporting",
    description="attribution, ROI and experiment readouts, deliverability, warming, dashboards",
    schedule="0 5 * * *",
    tags=["campaigns", "results", "warming"],
    doc_md=__doc__,
) as dag:
    ingest = job_task("ingest_events", ["ingest-events"])
    attribute = job_task("attribute_orders", ["attribute"], "spark")
    warming = job_task("update_warming", ["update-warming", "--date", "{{ ds }}"], "spark")
    results = job_task("campaign_results", ["results"], "spark")
    dashboards = job_task("publish_dashboards", ["dashboard"], "spark")
    upkeep = job_task("table_upkeep", ["maintain"])
    ingest >> attribute >> [warming, dashboards]
    warming >> results
    [results, dashboards] >> upkeep
