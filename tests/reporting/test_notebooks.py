"""The analyst notebooks run top to bottom on a real kernel against a real warehouse,
so they cannot rot: a renamed column or view fails here, not in an analyst's hands."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from jobs.warehouse.store import DeltaStore
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # long: started first (tests/conftest.py)

NOTEBOOKS = REPO_ROOT / "notebooks"


def execute(name: str) -> str:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


@pytest.fixture
def warehouse_env(sql_store: DeltaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel inherits this process's environment: point it at the test warehouse."""
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", sql_store.root_uri)
    for name in [n for n in __import__("os").environ if "PYFLINK" in n]:
        monkeypatch.delenv(name)


def test_the_campaign_performance_notebook_reads_the_reports(warehouse_env: None) -> None:
    text = execute("campaign_performance.ipynb")
    assert "fresh-mart-winback" in text and "green-grocer-welcome" in text
    assert "{'campaigns': 2, 'sends': 9," in text


def test_the_experiment_notebook_agrees_with_the_sql_and_calls_small_arms(
    warehouse_env: None,
) -> None:
    text = execute("experiment_analysis.ipynb")
    assert "control: baseline" in text
    assert "ten-percent: too small to call" in text
