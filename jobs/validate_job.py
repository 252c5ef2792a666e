"""Entry module: `campaigns validate-config`, the check a pull request runs: the whole
conf/ tree, then every template rule for every retailer and campaign."""

from __future__ import annotations

import argparse

from jobs.config import load_conf
from jobs.runtime import emit
from jobs.templates import load_library
from jobs.templates.validate import validate_library


def run(args: argparse.Namespace) -> int:
    """Configuration, then every template rule for every retailer and campaign: the
    check a pull request runs before anything is deployed."""
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    problems = validate_library(conf, library)
    if problems:
        noun = "problem" if len(problems) == 1 else "problems"
        emit(f"template library is invalid ({len(problems)} {noun}); fix these lines:")
        for problem in problems:
            emit(f"  - {problem}")
        return 2
    emit(
        f"configuration OK: {conf.root} ({len(conf.retailers)} retailers, "
        f"{len(conf.campaigns)} campaigns, {len(library.templates)} templates "
        f"in {len(library.layouts)} layout(s), profile '{conf.profile.name}')"
    )
    return 0
