"""Executors as a cluster image has them: the dependencies, not the checkout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def interpreter_without_the_project(tmp_path: Path) -> Path:
    """A Python with every dependency of the project but not the project itself, as an
    executor image built from the lock file would be: the project's environment is on
    its path, but not the `.pth` entry that makes the checkout importable."""
    env_dir = tmp_path / "executor-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    ours = next((REPO_ROOT / ".venv" / "lib").glob("python3.*/site-packages"))
    theirs = next((env_dir / "lib").glob("python3.*/site-packages"))
    (theirs / "campaigns-dependencies.pth").write_text(f"{ours}\n")
    return env_dir / "bin" / "python"
