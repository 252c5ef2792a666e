"""Entry module: `campaigns deploy-templates`, the step CI/CD runs on merge."""

from __future__ import annotations

import argparse

from jobs.config import load_conf
from jobs.providers.routing import ProviderRouter
from jobs.runtime import emit
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    router = ProviderRouter(conf)
    try:
        report = deploy_library(conf, load_library(conf), router)
    finally:
        router.close()
    emit(report.line())
    for retailer_id, error in sorted(report.failures.items()):
        emit(f"  {retailer_id}: {error}")
    return 1 if report.failures else 0
