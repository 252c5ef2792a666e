"""Airflow DAG, hourly: every workspace's event export into delivery_events, exactly once.

Each workspace resumes from the cursor committed with its last events, so an hour
that failed is caught up by the next run; overlapping runs are prevented.
"""

from __future__ import annotations

from campaigns_tasks import campaigns_dag, job_task

with campaigns_dag(
    "event_ingestion",
    description="provider events (delivered, bounced, opened, clicked, ...) into delivery_events",
    schedule="@hourly",
    tags=["campaigns", "results"],
    doc_md=__doc__,
) as dag:
    job_task("ingest_events", ["ingest-events"])
