"""The alert rules pass Prometheus's own checks: syntax (`promtool check rules`) and their
unit tests (`promtool test rules`: each alert fires on the series that should fire it,
when it should, and not on a healthy neighbour)."""

from __future__ import annotations

import re
import subprocess

import yaml

from jobs.cli import VERBS
from tests.conftest import REPO_ROOT

RULES = REPO_ROOT / "conf" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_alert_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", "alerts.yml")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_each_alert_fires_in_its_promtool_unit_test() -> None:
    tested = promtool("test", "rules", "alerts_test.yml")

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_has_a_runbook_section_and_every_step_is_a_command_that_exists() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    runbook = (REPO_ROOT / "docs" / "runbook.md").read_text()
    sections = {
        line[4:].strip().lower() for line in runbook.splitlines() if line.startswith("### ")
    }

    for alert in alerts:
        assert alert["alert"].lower() in sections, alert["alert"]
        assert alert["annotations"]["runbook"] == f"docs/runbook.md#{alert['alert'].lower()}"
    verbs = set(re.findall(r"(?:`|^)campaigns ([a-z][a-z-]+)", runbook, flags=re.M))
    assert verbs <= set(VERBS) | {"sql"}, verbs - set(VERBS)
