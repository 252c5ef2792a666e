"""`campaigns onboard-retailer RETAILER_YAML`: a new retailer in one command.

1. validate the file, alone and against every other retailer (ids, workspace, IP pool);
2. add it to conf/retailers/ (never overwriting a different file) and reload conf/;
3. provision its workspace through the provider's platform API, with its API key,
   rate limit, IP pool and sending identity `<slug>@<shared sending domain>`;
4. deploy its templates (validated first, only to its workspace);
5. start its warming plan when its IP pool is warming.

Every step compares before it writes, so running it again reports each step as
already done and changes nothing; a run that stopped half way finishes the rest.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from jobs.commands.common import add_common_arguments, emit
from jobs.config import load_conf
from jobs.config.loader import add_retailer_file, check_new_retailer, default_conf_dir
from jobs.providers.routing import ProviderRouter, platform_client, workspace_spec
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import plan_status, start_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("retailer_file", type=Path, metavar="RETAILER_YAML")


def run(args: argparse.Namespace) -> int:
    conf_dir = (args.conf or default_conf_dir()).resolve()
    current = load_conf(conf_dir, profile=args.profile)
    retailer_id = check_new_retailer(current, args.retailer_file).retailer_id
    emit(f"1. {args.retailer_file}: valid")
    emit(f"2. {add_retailer_file(conf_dir, args.retailer_file, retailer_id)}")
    conf = load_conf(conf_dir, profile=args.profile)
    spec = workspace_spec(conf, retailer_id)
    emit(
        f"3. workspace {spec.workspace_id}: {platform_client(conf).ensure_workspace(spec)} "
        f"(sends as {spec.sending_identity}, IP pool {spec.ip_pool})"
    )
    store = DeltaStore.from_profile(conf.profile)
    router = ProviderRouter(conf)
    try:
        report = deploy_library(
            conf, load_library(conf), router, store=store, retailer_ids=[retailer_id]
        )
    finally:
        router.close()
    emit("4. " + "\n   ".join(report.lines()))
    if not report.ok:
        emit("onboarding stopped: fix the templates above, then run it again")
        return 1
    started = start_plan(store, conf, retailer_id, datetime.now(UTC).date())
    emit(f"5. {plan_status(conf, retailer_id, started=started is not None)}")
    return 0
