"""What every campaigns DAG shares: where the project is, how a job starts, how it retries.

Parsing a DAG file must stay cheap and side-effect free: this module reads only
environment variables and the campaign YAML files. It never imports Spark, Flink
or the project package (they live in another virtual environment), and never
touches Airflow's database, Variables or Connections.

Each task runs one `campaigns` command in a subprocess, the way production
submits it:

    CAMPAIGNS_HOME          the project checkout the jobs run in (conf/, sql/)
    CAMPAIGNS_CLI           the `campaigns` executable (default: its .venv)
    CAMPAIGNS_SPARK_SUBMIT  how Spark jobs start; on a cluster, e.g.
                            "spark-submit --master yarn ... /opt/campaigns/jobs/cli.py"
    CAMPAIGNS_FLINK_RUN     how the delivery job starts; on a cluster, e.g.
                            "flink run -m jm:8081 -pyexec /opt/campaigns/.venv/bin/python
                             -py /opt/campaigns/jobs/cli.py"
    CAMPAIGNS_PROFILE       the conf/profiles entry the jobs use (local, cluster)

Exit codes decide retries: 2 is an operator error (bad configuration or data),
which a retry cannot fix, so the task fails at once; 99 means nothing to do and
skips the task; anything else is retried with backoff.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

PROJECT = Path(os.environ.get("CAMPAIGNS_HOME") or Path(__file__).resolve().parents[2])
CLI = os.environ.get("CAMPAIGNS_CLI") or str(PROJECT / ".venv" / "bin" / "campaigns")
LAUNCHERS = {
    "cli": CLI,
    "spark": os.environ.get("CAMPAIGNS_SPARK_SUBMIT") or CLI,
    "flink": os.environ.get("CAMPAIGNS_FLINK_RUN") or CLI,
}
OPERATOR_ERROR = 2
NOTHING_TO_DO = 99
# Only one delivery job at a time across DAGs: create it once with
# `airflow pools set campaigns_delivery 1 "one Flink delivery at a time"`.
DELIVERY_POOL = "campaigns_delivery"
START = datetime(2026, 1, 1)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    "execution_timeout": timedelta(hours=2),
}


def run_campaigns(command: list[str], launcher: str = "cli") -> None:
    """Run one `campaigns` command, its output in the task log; map its exit code."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    # An argument templated to "" (an option switched off) is left out.
    argv = [*shlex.split(LAUNCHERS[launcher]), *(part for part in command if part)]
    print("running:", shlex.join(argv), flush=True)
    # The jobs' interpreter is not Airflow's: leave no Airflow-venv variables behind.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    finished = subprocess.run(argv, cwd=PROJECT, env=env, check=False)
    if finished.returncode == NOTHING_TO_DO:
        raise AirflowSkipException(f"{command[0]}: nothing to do")
    if finished.returncode == OPERATOR_ERROR:
        raise AirflowFailException(
            f"{command[0]} rejected its input (exit 2, see the log above); fix it, then clear "
            "the task: retrying unchanged input cannot succeed"
        )
    if finished.returncode != 0:
        raise RuntimeError(f"{command[0]} failed with exit code {finished.returncode}")


def job_task(task_id: str, command: list[str], launcher: str = "cli", **kwargs: Any) -> Any:
    """A task running `campaigns <command>`; `command` may use Jinja ({{ ds }})."""
    return PythonOperator(
        task_id=task_id,
        python_callable=run_campaigns,
        op_kwargs={"command": command, "launcher": launcher},
        **kwargs,
    )


def campaigns_dag(dag_id: str, *, schedule: str | None, doc_md: str | None, **options: Any) -> DAG:
    """A DAG with the platform's defaults: no catch-up, one run at a time, retries."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=options.pop("start_date", START),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        doc_md=doc_md,
        **options,
    )


def campaigns(conf_dir: Path | None = None) -> list[dict[str, Any]]:
    """Each campaign file's id, retailer and schedule, read as plain YAML.

    Only what a DAG's shape needs: the full validation is the `validate_config`
    task's, so a broken file fails a task with the loader's message instead of
    hiding a DAG behind an import error.
    """
    folder = conf_dir or Path(os.environ.get("CAMPAIGNS_CONF") or PROJECT / "conf")
    found = []
    for path in sorted((folder / "campaigns").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if isinstance(data, dict) and data.get("campaign_id"):
            found.append(data)
    return found


DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """'30m', '4h', '1d' in seconds (the grammar jobs/config/models.py validates; the DAGs
    cannot import the project, so a malformed value reaches validate_config's error)."""
    value, unit = text[:-1], text[-1:]
    return int(value) * DURATION_UNITS[unit] if value.isdigit() and unit in DURATION_UNITS else 0


def schedule_of(campaign: dict[str, Any]) -> tuple[str | None, datetime]:
    """The Airflow schedule and start of a campaign's `schedule:` block."""
    schedule = campaign.get("schedule") or {}
    start = schedule.get("start_at")
    start_at = datetime.fromisoformat(str(start)) if start else START
    if schedule.get("kind") == "cron":
        return str(schedule["cron"]), start_at
    return ("@once" if start else None), start_at
