"""`campaigns resume CAMPAIGN`: its paused messages go out on the next delivery."""

from __future__ import annotations

import argparse

from jobs.commands.pause import add_arguments, record_control

__all__ = ["add_arguments", "run"]


def run(args: argparse.Namespace) -> int:
    return record_control(args, "resume")
