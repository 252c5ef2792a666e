"""`campaigns package`: the production package as `dist/campaigns-<version>.zip`, the file
to give `spark-submit --py-files` (docs/cluster.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.commands.common import emit
from jobs.dev.package import PROJECT_ROOT, write_package_zip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "dist", help="folder to write (default dist/)"
    )


def run(args: argparse.Namespace) -> int:
    emit(str(write_package_zip(PROJECT_ROOT, args.out)))
    return 0
