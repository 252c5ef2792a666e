"""The Airflow suite (pipelines/tests) as one item of this run.

Airflow lives in its own environment (.venv-airflow: its pins conflict with Flink's), so
its tests run in their own interpreter. Running them from here, rather than after this
suite, lets them overlap with the other workers' tests: the DAG run waits on the jobs it
starts for half its time (measured: 2 min 20 s of CPU in 4 min 35 s).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)

PIPELINES = REPO_ROOT / "pipelines"
AIRFLOW_PYTEST = REPO_ROOT / ".venv-airflow" / "bin" / "pytest"


def test_the_airflow_suite_passes() -> None:
    if not AIRFLOW_PYTEST.exists():
        pytest.fail(f"{AIRFLOW_PYTEST} is missing: `make airflow-env` builds Airflow's environment")
    # its own run, not this one's worker (xdist) or a PyFlink gateway this process started
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYFLINK"))}
    done = subprocess.run(
        [str(AIRFLOW_PYTEST), "-q", "-p", "no:cacheprovider"],
        cwd=PIPELINES,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, (
        f"pipelines/tests failed:\n{done.stdout[-8000:]}\n{done.stderr[-3000:]}"
    )
