"""`campaigns deliver` (or `flink run -py jobs/cli.py deliver`): campaign_events through
each retailer's workspace, once, or with `--follow` picking up every new version.

One delivery at a time per warehouse: a second one exits 3 naming the holder of the
lease (or waits for it with --wait). `--metrics-port` serves the per-workspace counters
and the warehouse's status gauges for Prometheus while it runs; every run's figures are
also published where $CAMPAIGNS_PUSHGATEWAY_URL / $CAMPAIGNS_METRICS_DIR say
(docs/operations.md#metrics). `--if-due` is the scheduled sweep (the `delivery_sweep`
DAG): messages deferred for quiet hours or a send time go out once they are due, and
a sweep with nothing due (or nothing launched yet) exits 99, nothing to do."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server

from jobs.commands.common import LOOPBACK, NOTHING_TO_DO, add_common_arguments, emit
from jobs.config import Conf, load_conf
from jobs.delivery.metrics import DeliveryMetrics
from jobs.delivery.run import RunSummary, deliver_once, follow
from jobs.delivery.status import warehouse_status
from jobs.metrics.publish import combined, publish
from jobs.metrics.runs import RunFigures
from jobs.metrics.status import StatusCollector
from jobs.templates import load_library
from jobs.warehouse.errors import TableNotFoundError
from jobs.warehouse.registry import CAMPAIGN_EVENTS
from jobs.warehouse.store import DeltaStore


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep running: look for new campaign_events versions every --poll-seconds",
    )
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="follow: poll interval")
    parser.add_argument(
        "--if-due",
        action="store_true",
        help=f"a scheduled sweep: exit {NOTHING_TO_DO} when nothing is due (or nothing was "
        "launched yet) instead of 0 or an error",
    )
    parser.add_argument(
        "--commit-seconds",
        type=float,
        default=5.0,
        help="commit message_sends at least this often during a run (default 5)",
    )
    parser.add_argument(
        "--max-runs", type=int, default=None, help="follow: stop after this many delivery runs"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another delivery holds the warehouse, wait this long for it "
        "(default: refuse at once, exit 3)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port while running (per-workspace delivery "
        "counters and the warehouse's status gauges)",
    )
    parser.add_argument(
        "--metrics-host",
        default=LOOPBACK,
        help=f"address the metrics endpoint binds (default {LOOPBACK}; 0.0.0.0 for a scraper "
        "on another host)",
    )


def run(args: argparse.Namespace) -> int:
    conf = load_conf(args.conf, profile=args.profile)
    library = load_library(conf)
    store = DeltaStore.from_profile(conf.profile)
    metrics = DeliveryMetrics(conf.retailers)
    if args.metrics_port is not None:
        _serve_metrics(metrics, store, conf, host=args.metrics_host, port=args.metrics_port)
    if not args.follow:
        if args.if_due and store.find(CAMPAIGN_EVENTS.name) is None:
            emit("delivery: nothing launched into this warehouse yet; nothing is due")
            return NOTHING_TO_DO
        _require_launched(store)
        summary = deliver_once(
            conf,
            store,
            library,
            commit_seconds=args.commit_seconds,
            wait_s=args.wait,
            metrics=metrics,
        )
        if summary is None:
            emit("delivery: nothing to deliver (no new campaign_events, nothing due)")
            return NOTHING_TO_DO if args.if_due else 0
        _report(summary, metrics)
        return 0
    follow(
        conf,
        store,
        library,
        poll_seconds=args.poll_seconds,
        stopping=_stop_on_signals(),
        on_run=lambda summary: _report(summary, metrics),
        max_runs=args.max_runs,
        commit_seconds=args.commit_seconds,
        wait_s=args.wait,
        metrics=metrics,
    )
    return 0


def _serve_metrics(
    metrics: DeliveryMetrics, store: DeltaStore, conf: Conf, *, host: str, port: int
) -> None:
    """The process's counters and the warehouse's status on http://host:port/metrics, from
    a daemon thread that ends with the process. (The status is served, not pushed with
    each run: `campaigns status --push` publishes it where nothing serves it.)"""
    status = CollectorRegistry()
    status.register(StatusCollector(lambda: warehouse_status(store, conf)))
    start_http_server(port, addr=host, registry=combined(metrics.registry, status))
    emit(f"metrics: http://{host}:{port}/metrics")


def _report(summary: RunSummary, metrics: DeliveryMetrics) -> None:
    """The run's line, then its figures published (a Pushgateway, a textfile) when asked."""
    emit(summary.line())
    run = RunFigures("deliver", summary.seconds, succeeded=True).registry()
    for line in publish("deliver", combined(run, metrics.registry)):
        emit(line)


def _require_launched(store: DeltaStore) -> None:
    """A one-off delivery with no campaign_events is a wrong warehouse path, not an empty
    day: exit 0 there would read as success in Airflow. (`--follow` waits for the first
    launch instead.)"""
    if store.find(CAMPAIGN_EVENTS.name) is None:
        raise TableNotFoundError(
            f"no campaign_events table at {store.uri(CAMPAIGN_EVENTS.name)}: nothing was ever "
            "launched into this warehouse. Check warehouse_uri in the profile (or "
            "$CAMPAIGNS_WAREHOUSE_URI), or run `campaigns launch` first"
        )


def _stop_on_signals() -> Callable[[], bool]:
    """SIGTERM or Ctrl-C ends `--follow` after the run in progress, never inside one."""
    requested = {"stop": False}

    def handle(signum: int, frame: FrameType | None) -> None:
        requested["stop"] = True

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return lambda: requested["stop"]
