"""Airflow DAG, every 15 minutes: deliver what has become due since the last run.

A launch delivers at once what may go at once. Messages deferred then (quiet hours in
the customer's time zone, an optimized send time, a daily cap, an unavailable
workspace) carry an instant they become eligible; this sweep sends each shortly after
it. A sweep with nothing due exits 99 and shows as skipped. Where `campaigns deliver
--follow` runs as a service, it does the same and this DAG can stay paused.
"""

from __future__ import annotations

from campaigns_tasks import DELIVERY_POOL, campaigns_dag, job_task

with campaigns_dag(
    "delivery_sweep",
    description="deferred messages (quiet hours, send times, caps) once they are due",
    schedule="*/15 * * * *",
    tags=["campaigns", "delivery"],
    doc_md=__doc__,
) as dag:
    job_task("deliver_due", ["deliver", "--if-due"], "flink", pool=DELIVERY_POOL)
