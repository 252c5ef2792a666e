"""One delivery run on the driver: plan, run the Flink job, commit results, summarize."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from pyflink.datastream import StreamExecutionEnvironment

from jobs.config import Conf
from jobs.delivery.flink import DeliveryOptions, build_environment, delivery_stream
from jobs.delivery.intents import remove_intents
from jobs.delivery.lease import DeliveryLease
from jobs.delivery.metrics import DeliveryMetrics
from jobs.delivery.plan import DeliveryPlan, plan_delivery
from jobs.delivery.reconcile import ReconcileReport, reconcile
from jobs.delivery.results import ResultCommitter, RunTally
from jobs.errors import OperatorError
from jobs.templates import TemplateLibrary
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)


# A delivery job that fails (a lost Python worker, a task manager gone) is run again
# from what is durable, this many times in all.
JOB_ATTEMPTS = 3


@dataclass(frozen=True)
class RunSummary:
    plan: DeliveryPlan
    tally: RunTally
    seconds: float
    reconciled: ReconcileReport | None = None

    def line(self) -> str:
        line = (
            f"delivery {self.plan.delivery_run_id}: {self.plan.describe()}; "
            f"{self.tally.line()}; {self.seconds:.1f} s"
        )
        return f"{self.reconciled.line()}\n{line}" if self.reconciled else line


def new_delivery_run_id() -> str:
    return f"dr-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def deliver_once(
    conf: Conf,
    store: DeltaStore,
    library: TemplateLibrary,
    *,
    options: DeliveryOptions | None = None,
    environment: Callable[[], StreamExecutionEnvironment] | None = None,
    commit_rows: int = 20_000,
    commit_seconds: float = 5.0,
    today: date | None = None,
    lease: DeliveryLease | None = None,
    wait_s: float = 0.0,
    metrics: DeliveryMetrics | None = None,
) -> RunSummary | None:
    """Deliver everything new (and everything carried over); None when there is nothing to do.

    `today` (UTC) decides which daily caps apply; it defaults to the current date. The
    run holds the warehouse's delivery lease: the one given (`follow` holds one across
    runs), or its own, waiting up to `wait_s` for another delivery to finish.
    """
    if lease is None:
        with held_lease(store, conf, wait_s=wait_s) as own:
            return deliver_once(
                conf,
                store,
                library,
                options=options,
                environment=environment,
                commit_rows=commit_rows,
                commit_seconds=commit_seconds,
                today=today,
                lease=own,
                metrics=metrics,
            )
    started = time.monotonic()
    grace_s = conf.profile.delivery.in_doubt_grace_seconds
    reconciled = reconcile(store, conf, lease, grace_s=grace_s)

    def attempt() -> RunSummary | None:
        summary = _run(
            conf,
            store,
            library,
            lease,
            options=options or DeliveryOptions(),
            environment=environment,
            commit_rows=commit_rows,
            commit_seconds=commit_seconds,
            today=today or ((options and options.now) or datetime.now(UTC)).date(),
            metrics=metrics,
        )
        if summary is None:
            return None
        if metrics is not None:
            metrics.run_ended()
        return replace(summary, reconciled=reconciled, seconds=time.monotonic() - started)

    for _ in range(JOB_ATTEMPTS - 1):
        try:
            return attempt()
        except OperatorError:
            raise
        except Exception as error:
            log.warning(
                "delivery job failed (%s): running again from what is durable",
                str(error).splitlines()[0][:300],
            )
            reconciled = reconcile(store, conf, lease, grace_s=grace_s)
    return attempt()


def _run(
    conf: Conf,
    store: DeltaStore,
    library: TemplateLibrary,
    lease: DeliveryLease,
    *,
    options: DeliveryOptions,
    environment: Callable[[], StreamExecutionEnvironment] | None,
    commit_rows: int,
    commit_seconds: float,
    today: date,
    metrics: DeliveryMetrics | None,
) -> RunSummary | None:
    """Plan, run the Flink job, commit its results; its intent log goes with the last commit."""
    started = time.monotonic()
    plan = plan_delivery(
        store, conf, delivery_run_id=new_delivery_run_id(), today=today, now=options.now
    )
    if plan is None or (not plan.units and not plan.has_new_version):
        return None
    log.info("delivery %s planned: %s", plan.delivery_run_id, plan.describe())
    committer = ResultCommitter(
        store, plan, lease=lease, commit_rows=commit_rows, commit_seconds=commit_seconds
    )
    if plan.units:
        env = (environment or (lambda: build_environment(conf.profile)))()
        stream = delivery_stream(
            env,
            plan,
            conf=conf,
            store=store,
            library=library,
            options=options,
            fence=lease.fence(),
        )
        try:
            with stream.execute_and_collect(
                f"campaigns-delivery {plan.delivery_run_id}"
            ) as reports:
                for report in reports:
                    committer.add(report)
                    if metrics is not None:
                        metrics.observe(report)
        except BaseException:
            committer.abandon()
            raise
    committer.finish()
    remove_intents(store, [plan.delivery_run_id])
    return RunSummary(plan, committer.tally, time.monotonic() - started)


def follow(
    conf: Conf,
    store: DeltaStore,
    library: TemplateLibrary,
    *,
    poll_seconds: float,
    stopping: Callable[[], bool],
    on_run: Callable[[RunSummary], None],
    max_runs: int | None = None,
    commit_seconds: float = 5.0,
    wait_s: float = 0.0,
    metrics: DeliveryMetrics | None = None,
) -> int:
    """Deliver, then every `poll_seconds` deliver what is new (a new campaign_events
    version, or work a resume or a new day releases), until `stopping()` or
    `max_runs` runs; returns how many runs delivered something. The lease is held
    throughout, so no other delivery starts in between."""
    runs = 0
    with held_lease(store, conf, wait_s=wait_s) as lease:
        while not stopping():
            summary = deliver_once(
                conf, store, library, commit_seconds=commit_seconds, lease=lease, metrics=metrics
            )
            if summary is not None:
                runs += 1
                on_run(summary)
            if max_runs and runs >= max_runs:
                break
            lease.check()  # a follower that lost its lease stops (exit 3)
            deadline = time.monotonic() + poll_seconds
            while time.monotonic() < deadline and not stopping():
                time.sleep(0.2)
    return runs


@contextmanager
def held_lease(store: DeltaStore, conf: Conf, *, wait_s: float) -> Iterator[DeliveryLease]:
    """The delivery lease, renewed in the background while the block runs."""
    lease = DeliveryLease(store, ttl_s=conf.profile.delivery.lease_ttl_seconds)
    lease.acquire(wait_s=wait_s)
    lease.keep_renewed()
    try:
        yield lease
    finally:
        lease.release()
