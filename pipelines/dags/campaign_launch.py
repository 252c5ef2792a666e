"""One launch DAG per campaign (conf/campaigns/*.yaml), on the campaign's own schedule.

validate_config -> check_inputs -> launch -> deliver -> check_run

Idempotent per logical date: the launch's run id is <campaign>-<logical day>, so a
rerun or a retry of the same date writes nothing new, delivery skips every message
already recorded, and check_run judges that one run.
"""

from __future__ import annotations

from airflow.sdk import DAG

from campaigns_tasks import DELIVERY_POOL, campaigns, campaigns_dag, job_task, schedule_of


def launch_dag(campaign: dict) -> DAG:
    campaign_id = campaign["campaign_id"]
    retailer_id = str(campaign.get("retailer_id", "unknown"))
    schedule, start = schedule_of(campaign)
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
        launch = job_task("launch", ["launch", campaign_id, "--as-of", "{{ ds }}"], "spark")
        deliver = job_task("deliver", ["deliver"], "flink", pool=DELIVERY_POOL)
        # Deferred messages are expected under warming and daily caps: a later run sends them.
        check = job_task(
            "check_run", ["check-run", campaign_id, "--as-of", "{{ ds }}", "--allow-pending"]
        )
        validate >> inputs >> launch >> deliver >> check
    return dag


for _campaign in campaigns():
    _dag = launch_dag(_campaign)
    globals()[_dag.dag_id] = _dag
