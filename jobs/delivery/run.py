"""One delivery run on the driver: plan, run the Flink job, commit results, summarize."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyflink.datastream import StreamExecutionEnvironment

from jobs.config import Conf
from jobs.delivery.flink import DeliveryOptions, build_environment, delivery_stream
from jobs.delivery.plan import DeliveryPlan, plan_delivery
from jobs.delivery.results import ResultCommitter, RunTally
from jobs.templates import TemplateLibrary
from jobs.warehouse.store import DeltaStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    plan: DeliveryPlan
    tally: RunTally
    seconds: float

    def line(self) -> str:
        return (
            f"delivery {self.plan.delivery_run_id}: {self.plan.describe()}; "
            f"{self.tally.line()}; {self.seconds:.1f} s"
        )


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
) -> RunSummary | None:
    """Deliver everything new (and everything carried over); None when there is nothing to do.

    `today` (UTC) decides which daily caps apply; it defaults to the current date.
    """
    started = time.monotonic()
    plan = plan_delivery(
        store,
        conf,
        delivery_run_id=new_delivery_run_id(),
        today=today or datetime.now(UTC).date(),
    )
    if plan is None or (not plan.units and not plan.has_new_version):
        return None
    log.info("delivery %s planned: %s", plan.delivery_run_id, plan.describe())
    committer = ResultCommitter(store, plan, commit_rows=commit_rows, commit_seconds=commit_seconds)
    if plan.units:
        env = (environment or (lambda: build_environment(conf.profile)))()
        stream = delivery_stream(
            env, plan, conf=conf, store=store, library=library, options=options or DeliveryOptions()
        )
        try:
            with stream.execute_and_collect(
                f"campaigns-delivery {plan.delivery_run_id}"
            ) as reports:
                for report in reports:
                    committer.add(report)
        except BaseException:
            committer.abandon()
            raise
    committer.finish()
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
) -> int:
    """Deliver, then every `poll_seconds` deliver what is new (a new campaign_events
    version, or work a resume or a new day releases), until `stopping()` or
    `max_runs` runs; returns how many runs delivered something."""
    runs = 0
    while not stopping():
        summary = deliver_once(conf, store, library, commit_seconds=commit_seconds)
        if summary is not None:
            runs += 1
            on_run(summary)
        if max_runs and runs >= max_runs:
            break
        deadline = time.monotonic() + poll_seconds
        while time.monotonic() < deadline and not stopping():
            time.sleep(0.2)
    return runs
