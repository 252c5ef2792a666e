"""Airflow runs here in its own environment, on SQLite in a throwaway AIRFLOW_HOME.

The variables are set before anything imports Airflow, which reads them once.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

PIPELINES = Path(__file__).resolve().parents[1]
DAGS = PIPELINES / "dags"
PROJECT = PIPELINES.parent
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "CAMPAIGNS_HOME": str(PROJECT),
    }
)

# Airflow's own processes put the DAGs folder on sys.path, so DAG files import their
# shared module (campaigns_tasks) as a top-level module; a test importing them does too.
sys.path.insert(0, str(DAGS))

CAMPAIGN_DAGS = {
    "campaign_launch__fresh_mart_winback": "0 9 * * MON",
    "campaign_launch__green_grocer_welcome": "0 8 * * *",
    "campaign_launch__maple_market_weekly_deals": "0 7 * * THU",
}
