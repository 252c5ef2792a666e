"""The `campaigns` command as an operator uses it."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deltalake import DeltaTable

from jobs.cli import VERBS, build_parser, main
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


def command_lines(text: str) -> list[str]:
    """The `campaigns ...` lines of a document's code blocks."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith("campaigns ")
    ]


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser and of its sub-commands (`bench NAME`)."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= options_of(sub)
    return found


@pytest.mark.parametrize("document", ["README.md", "docs/commands.md"])
def test_every_command_the_docs_list_runs_with_the_options_they_show(
    document: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = command_lines((REPO_ROOT / document).read_text(encoding="utf-8"))
    assert len(lines) >= len(VERBS), "the command list lost verbs"
    for line in lines:
        verb = line.split()[1]
        with pytest.raises(SystemExit) as exit_:
            main([verb, "--help"])
        assert exit_.value.code == 0, line
        subparser = build_parser(verb)._subparsers._group_actions[0].choices[verb]  # type: ignore[union-attr]
        shown = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
        assert shown <= options_of(subparser), f"{document}: {line}"
    capsys.readouterr()


def test_every_verb_named_in_the_docs_exists() -> None:
    documents = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    named = {
        (path.name, verb)
        for path in documents
        for verb in re.findall(r"`campaigns ([a-z][a-z-]*)", path.read_text(encoding="utf-8"))
    }
    assert {(name, verb) for name, verb in named if verb not in VERBS} == set()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["launch"], "name at least one campaign id, or pass --all"),
        (["launch", "--run-id", "r1", "fresh-mart-winback", "green-grocer-welcome"], "--run-id r1"),
        (["launch", "fresh-mrt-winback"], "fresh-mrt-winback"),
    ],
)
def test_a_launch_asked_wrongly_is_an_operator_error_before_spark_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 (final: Airflow does not retry it), the reason on standard error."""
    assert main([*argv, "--conf", str(REPO_ROOT / "conf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_a_sweep_with_nothing_launched_or_due_exits_nothing_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAMPAIGNS_WAREHOUSE_URI", str(tmp_path / "wh"))

    assert main(["deliver", "--if-due", "--conf", str(REPO_ROOT / "conf")]) == 99
    assert "nothing launched into this warehouse yet" in capsys.readouterr().out
    # without --if-due, no campaign_events means a wrong warehouse path: refused
    assert main(["deliver", "--conf", str(REPO_ROOT / "conf")]) == 2
