"""`campaigns validate-config`: the check a pull request runs before anything is
deployed: the whole conf/ tree, then every template rule for every retailer and
campaign. Exits 2 with every problem, each naming its file and line."""

from __future__ import annotations

import argparse

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.templates import load_library
from jobs.templates.problems import TemplateLibraryError
from jobs.templates.validate import validate_library


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    problems = validate_library(conf, library)
    if problems:
        raise TemplateLibraryError(problems)
    emit(
        f"configuration OK: {conf.root} ({len(conf.retailers)} retailers, "
        f"{len(conf.campaigns)} campaigns, {len(library.templates)} templates "
        f"in {len(library.layouts)} layout(s), profile '{conf.profile.name}')"
    )
    return 0
