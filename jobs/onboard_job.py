"""Entry module: `campaigns onboard-retailer <retailer.yaml>`, a new retailer in one command.

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
import shutil
from datetime import UTC, datetime
from pathlib import Path

from jobs.config import Conf, load_conf
from jobs.config.loader import check_new_retailer, default_conf_dir
from jobs.providers.base import WorkspaceSpec
from jobs.providers.routing import ProviderRouter, platform_client, workspace_for
from jobs.runtime import add_common_arguments, emit, entry_main
from jobs.templates import load_library
from jobs.templates.deploy import deploy_library
from jobs.warehouse.store import DeltaStore
from jobs.warming.schedule import start_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("retailer_file", type=Path, metavar="RETAILER_YAML")


def run(args: argparse.Namespace) -> int:
    conf_dir = (args.conf or default_conf_dir()).resolve()
    current = load_conf(conf_dir, profile=args.profile)
    retailer = check_new_retailer(current, args.retailer_file)
    emit(f"1. {args.retailer_file}: valid")
    emit(f"2. {add_to_conf(conf_dir, args.retailer_file, retailer.retailer_id)}")
    conf = load_conf(conf_dir, profile=args.profile)
    spec = workspace_spec(conf, retailer.retailer_id)
    emit(
        f"3. workspace {spec.workspace_id}: {platform_client(conf).ensure_workspace(spec)} "
        f"(sends as {spec.sending_identity}, IP pool {spec.ip_pool})"
    )
    store = DeltaStore.from_profile(conf.profile)
    router = ProviderRouter(conf)
    try:
        report = deploy_library(
            conf, load_library(conf), router, store=store, retailer_ids=[retailer.retailer_id]
        )
    finally:
        router.close()
    emit("4. " + "\n   ".join(report.lines()))
    if not report.ok:
        emit("onboarding stopped: fix the templates above, then run it again")
        return 1
    today = datetime.now(UTC).date()
    started = start_plan(store, conf, retailer.retailer_id, today)
    emit(f"5. {_warming_line(conf, retailer.retailer_id, started is not None)}")
    return 0


def add_to_conf(conf_dir: Path, source: Path, retailer_id: str) -> str:
    """Copy the file into conf/retailers/ unless it is there already."""
    target = conf_dir / "retailers" / f"{retailer_id}.yaml"
    if target.exists() and target.resolve() == source.resolve():
        return f"{target}: already in conf/"
    if target.exists():
        return f"{target}: already in conf/ with the same settings"
    shutil.copyfile(source, target)
    return f"{target}: added"


def workspace_spec(conf: Conf, retailer_id: str) -> WorkspaceSpec:
    retailer = conf.retailer(retailer_id)
    workspace = workspace_for(conf, retailer)
    return WorkspaceSpec(
        workspace_id=workspace.workspace_id,
        retailer_id=retailer_id,
        name=retailer.brand.name,
        sending_identity=retailer.sending_identity(conf.platform.sending_domain),
        ip_pool=retailer.ip_pool,
        api_key=workspace.api_key,
        requests_per_second=retailer.rate_limit.requests_per_second,
        burst=retailer.rate_limit.burst,
    )


def _warming_line(conf: Conf, retailer_id: str, started: bool) -> str:
    retailer = conf.retailer(retailer_id)
    pool = conf.platform.ip_pools[retailer.ip_pool]
    if pool.warming is None:
        return f"IP pool {retailer.ip_pool} is warm: no warming plan needed"
    if "email" not in retailer.channels:
        return "no email channel: nothing to warm"
    if started:
        return f"warming plan started in IP pool {retailer.ip_pool} (warming_schedule)"
    return f"already on the warming plan of IP pool {retailer.ip_pool}"


def main(argv: list[str] | None = None) -> int:
    return entry_main(
        argv, prog="onboard_job", description=__doc__, add_arguments=add_arguments, run=run
    )


if __name__ == "__main__":
    raise SystemExit(main())
