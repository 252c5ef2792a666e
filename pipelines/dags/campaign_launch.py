"""One launch DAG per campaign (conf/campaigns/*.yaml), on the campaign's own schedule.

validate_config -> check_inputs -> launch -> deliver -> check_run

An adaptive campaign (allocation mode 'adaptive') is sent in waves, each decided from
the engagement of the ones before:

validate_config -> check_inputs -> decide_wave_1 -> launch_wave_1 -> deliver_wave_1
  -> wait_wave_1 (wave_interval) -> ingest_wave_1 [-> attribute_wave_1 for 'conversion']
  -> decide_wave_2 -> ... -> deliver_wave_N -> check_run

Idempotent per logical date (and wave): the launch's run id is <campaign>-<logical day>
(-w<K> for a wave), so a rerun or a retry writes nothing new, a wave's weights are
decided once and kept, delivery skips every message already recorded, and check_run
judges that one run (all its waves).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.sensors.time_delta import WaitSensor
from airflow.sdk import DAG

from campaigns_tasks import (
    DELIVERY_POOL,
    campaigns,
    campaigns_dag,
    duration_seconds,
    job_task,
    schedule_of,
)


def launch_dag(campaign: dict) -> DAG:
    campaign_id = campaign["campaign_id"]
    retailer_id = str(campaign.get("retailer_id", "unknown"))
    schedule, start = schedule_of(campaign)
    allocation = campaign.get("allocation") or {}
    with campaigns_dag(
        f"campaign_launch__{campaign_id.replace('-', '_')}",
        description=f"launch and deliver {campaign_id}",
        schedule=schedule,
        start_date=start,
        tags=["campaigns", "launch", retailer_id],
        doc_md=__doc__,
    ) as dag:
        validate = job_task("validate_config", ["validate-config"])
        # Only the campaign's retailer: another tenant's bad rows never stop this launch.
        inputs = job_task("check_inputs", ["check-inputs", "--retailer", retailer_id], "spark")
        if allocation.get("mode") == "adaptive":
            first, last = _waves(campaign_id, allocation)
        else:
            first = job_task("launch", ["launch", campaign_id, "--as-of", "{{ ds }}"], "spark")
            last = job_task("deliver", ["deliver"], "flink", pool=DELIVERY_POOL)
            first >> last
        # Deferred messages are expected under warming and daily caps: a later run sends them.
        check = job_task(
            "check_run", ["check-run", campaign_id, "--as-of", "{{ ds }}", "--allow-pending"]
        )
        validate >> inputs >> first
        last >> check
    return dag


def _waves(campaign_id: str, allocation: dict) -> tuple:
    """The chain of an adaptive run's waves; returns its first and last task."""
    waves = int(allocation.get("waves", 4))
    interval = timedelta(seconds=duration_seconds(str(allocation.get("wave_interval", "4h"))))
    on_day = ["--as-of", "{{ ds }}"]
    first = previous = None
    for wave in range(1, waves + 1):
        at = ["--wave", str(wave), *on_day]
        decide = job_task(f"decide_wave_{wave}", ["decide-allocation", campaign_id, *at])
        launch = job_task(f"launch_wave_{wave}", ["launch", campaign_id, *at], "spark")
        deliver = job_task(f"deliver_wave_{wave}", ["deliver"], "flink", pool=DELIVERY_POOL)
        decide >> launch >> deliver
        if previous is not None:
            previous >> decide
        first = first or decide
        previous = deliver
        if wave < waves:  # engagement comes in: wait, then ingest what the provider has
            wait = WaitSensor(task_id=f"wait_wave_{wave}", time_to_wait=interval, mode="reschedule")
            ingest = job_task(f"ingest_wave_{wave}", ["ingest-events"])
            deliver >> wait >> ingest
            previous = ingest
            if allocation.get("metric") == "conversion":
                attribute = job_task(f"attribute_wave_{wave}", ["attribute"], "spark")
                ingest >> attribute
                previous = attribute
    return first, previous


for _campaign in campaigns():
    _dag = launch_dag(_campaign)
    globals()[_dag.dag_id] = _dag
