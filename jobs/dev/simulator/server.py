"""Starting the simulator: in the foreground (`campaigns provider-sim`) or in a thread.

It serves every retailer workspace of conf/, each with the API key its
configuration names in the environment and the rate limit it declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from aiohttp import web

from jobs.commands.common import LOOPBACK
from jobs.config import Conf
from jobs.dev.loopback import AppThread
from jobs.dev.simulator.app import Simulator, add_braze_routes, new_app
from jobs.dev.simulator.sms import add_sms_routes
from jobs.dev.simulator.state import RenderMode, SmsAccountState, TokenBucket, WorkspaceState
from jobs.providers.routing import platform_key, sms_account_for, workspace_for


def build_app(simulator: Simulator) -> web.Application:
    """Both providers on one port: the Braze-style workspaces and the SMS accounts."""
    app = new_app(simulator)
    add_braze_routes(app)
    add_sms_routes(app)
    return app


def simulator_from_conf(
    conf: Conf,
    *,
    render_mode: RenderMode = "sample",
    faults: dict[str, Any] | None = None,
    deduplicates: bool | None = None,
) -> Simulator:
    """Every workspace of `conf`; each deduplicates as its configuration declares, or as
    `deduplicates` says for all of them."""
    workspaces = {}
    for retailer in conf.retailers.values():
        workspace = workspace_for(conf, retailer)
        workspaces[workspace.workspace_id] = WorkspaceState(
            workspace_id=workspace.workspace_id,
            retailer_id=retailer.retailer_id,
            api_key=workspace.api_key,
            ip_pool=retailer.ip_pool,
            limiter=TokenBucket(retailer.rate_limit.requests_per_second, retailer.rate_limit.burst),
            sending_identity=retailer.sending_identity(conf.platform.sending_domain),
            deduplicates=(
                retailer.workspace.deduplicates if deduplicates is None else deduplicates
            ),
        )
    simulator = Simulator(
        workspaces=workspaces,
        sms_accounts=sms_accounts_from_conf(conf),
        render_mode=render_mode,
        platform_key=platform_key(conf),
    )
    simulator.faults.update(faults or {})
    return simulator


# The provider measures a sender's rate with room for one early arrival (network jitter);
# sustained, no more than the sender's messages per second are accepted.
SENDER_BURST = 2


def sms_accounts_from_conf(conf: Conf) -> dict[str, SmsAccountState]:
    """The SMS account of every retailer that has one, with the token its configuration
    names and its sender's rate."""
    accounts = {}
    for retailer in conf.retailers.values():
        if retailer.sms is None:
            continue
        account = sms_account_for(conf, retailer)
        accounts[account.account_sid] = SmsAccountState(
            account_sid=account.account_sid,
            retailer_id=retailer.retailer_id,
            auth_token=account.auth_token,
            sender=account.sender,
            limiter=TokenBucket(account.messages_per_second, SENDER_BURST),
        )
    return accounts


def point_conf_at(conf: Conf, server_url: str) -> Conf:
    """The same configuration with every workspace and SMS account served by the simulator
    at `server_url`."""
    retailers = {
        rid: r.model_copy(
            update={
                "workspace": r.workspace.model_copy(
                    update={"base_url": f"{server_url}/ws/{r.workspace.workspace_id}"}
                )
            }
        )
        for rid, r in conf.retailers.items()
    }
    retailers = {
        rid: r.model_copy(
            update={"sms": r.sms.model_copy(update={"base_url": f"{server_url}/sms"})}
        )
        if r.sms is not None
        else r
        for rid, r in retailers.items()
    }
    platform = conf.platform
    if platform.provider_platform is not None:
        api = platform.provider_platform.model_copy(update={"base_url": f"{server_url}/platform"})
        platform = platform.model_copy(update={"provider_platform": api})
    return replace(conf, retailers=retailers, platform=platform)


def serve_forever(simulator: Simulator, *, port: int, host: str = LOOPBACK) -> None:
    web.run_app(
        build_app(simulator), host=host, port=port, print=None, access_log=None, handle_signals=True
    )


class SimulatorThread(AppThread):
    """The simulator on an ephemeral loopback port in a daemon thread (tests, benchmarks)."""

    def __init__(self, simulator: Simulator, *, port: int = 0) -> None:
        super().__init__(build_app(simulator), port=port, name="provider-sim")
        self.simulator = simulator


@contextmanager
def running_simulator(simulator: Simulator) -> Iterator[SimulatorThread]:
    server = SimulatorThread(simulator).start()
    try:
        yield server
    finally:
        server.stop()
