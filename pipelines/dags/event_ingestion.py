"""Hourly: every workspace's event export into delivery_events, exactly once.

Each workspace resumes from the cursor committed with its last events, so an hour
that failed is caught up by the next run; overlapping runs are prevented.
"""

from __future__ import annotations

from airflow.sdk import DAG

from campaigns_tasks import DEFAULT_ARGS, START, job_task

with DAG(
    dag_id="event_ingestion",
    description="provider events (delivered, bounced, opened, clicked, ...) into delivery_events",
    schedule="@hourly",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["campaigns", "results"],
    doc_md=__doc__,
) as dag:
    job_task("ingest_events", ["ingest-events"])
