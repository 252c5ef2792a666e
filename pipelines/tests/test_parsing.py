"""Parsing a DAG file touches no database, connection or network and imports no engine."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import DAGS

# Run in a fresh interpreter: after Airflow itself has started, any database
# connection, socket, Variable or Connection use while the DAG files are imported
# raises, and the modules loaded afterwards are reported.
PROBE = r"""
import json, socket, sqlite3, sys, runpy
from pathlib import Path

import airflow  # Airflow's own start-up (it configures, but does not open, its engine)
import sqlalchemy.engine.base

def refuse(*args, **kwargs):
    raise RuntimeError("database, network, Variable or Connection access while parsing DAGs")

sqlite3.connect = refuse
socket.socket.connect = refuse
socket.create_connection = refuse
sqlalchemy.engine.base.Engine.connect = refuse
sqlalchemy.engine.base.Engine.raw_connection = refuse
# Variables and Connections read at parse time may be served without a database
# (defaults, environment), so they are refused by name too.
import airflow.models.variable
import airflow.sdk
from airflow.sdk.bases.hook import BaseHook
airflow.sdk.Variable.get = refuse
airflow.sdk.Connection.get = refuse
airflow.models.variable.Variable.get = refuse
BaseHook.get_connection = refuse

folder = Path(sys.argv[1])
sys.path.insert(0, str(folder))
dags = {}
for path in sorted(folder.glob("*.py")):
    namespace = runpy.run_path(str(path))
    dags[path.name] = sorted(
        {value.dag_id for value in namespace.values() if type(value).__name__ == "DAG"}
    )
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in ("pyspark", "pyflink", "jobs", "deltalake", "great_expectations")
)
print(json.dumps({"dags": dags, "heavy": heavy}))
"""


def test_dag_files_parse_without_database_network_or_engine_imports() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", PROBE, str(DAGS)], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["dags"]["event_ingestion.py"] == ["event_ingestion"]
    assert len(result["dags"]["campaign_launch.py"]) == 3
    assert result["dags"]["campaigns_tasks.py"] == []
