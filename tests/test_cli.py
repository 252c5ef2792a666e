"""The `campaigns` command as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deltalake import DeltaTable

from jobs.cli import main
from tests.conftest import REPO_ROOT


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])

    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "seed", "summary", "validate-config", "bench"):
        assert command in out


def test_validate_config_accepts_the_repository_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config", "--conf", str(REPO_ROOT / "conf")]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_validate_config_rejects_a_bad_tree_with_file_and_field(
    conf_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = conf_dir / "campaigns" / "fresh-mart-winback.yaml"
    data = yaml.safe_load(path.read_text())
    data["holdout_share"] = 1.5
    path.write_text(yaml.safe_dump(data))

    assert main(["validate-config", "--conf", str(conf_dir)]) == 2

    err = capsys.readouterr().err
    assert f"{path}: holdout_share: Input should be less than 1" in err
    assert "nothing was run" in err


def test_seed_command_writes_a_delta_warehouse(tmp_path: Path) -> None:
    env = {**os.environ, "CAMPAIGNS_WAREHOUSE_URI": str(tmp_path / "wh")}
    command = [sys.executable, "-m", "jobs.cli", "seed", "--customers", "600", "--orders", "3000"]

    first = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    second = subprocess.run(
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )

    assert first.returncode == 0, first.stderr[-2000:]
    assert "warehouse seeded: 3 retailers" in first.stdout
    assert "customers" in first.stdout and "fresh-mart" in first.stdout
    assert "already seeded (nothing written)" in second.stdout
    customers = DeltaTable(str(tmp_path / "wh" / "customers")).to_pyarrow_table()
    assert 550 <= customers.num_rows <= 650
    assert set(customers.column("retailer_id").to_pylist()) == {
        "fresh-mart",
        "green-grocer",
        "maple-market",
    }
