"""The PyFlink side of delivery: functions around the pure pieces, and the job graph.

    work units (files) -> read -> chunks -> key_by(retailer) -> rebatch (<= 50)
        -> async send (rate limit, cap, retries, breaker) -> batch reports -> driver

The send operator is chained to the keyed rebatcher (same parallelism, forward
connection), so every batch of a retailer passes through the one subtask that
owns its key, and that subtask's token bucket and daily cap are the retailer's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyflink
from pyflink.common import Configuration, Time, Types, WatermarkStrategy
from pyflink.common.watermark_strategy import TimestampAssigner
from pyflink.datastream import (
    KeyedProcessFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
    TimeDomain,
)
from pyflink.datastream.async_data_stream import AsyncDataStream
from pyflink.datastream.data_stream import DataStream
from pyflink.datastream.functions import AsyncFunction, FlatMapFunction
from pyflink.java_gateway import get_gateway

from jobs.config import Conf
from jobs.config.models import Profile
from jobs.delivery.controls import PauseWatcher
from jobs.delivery.intents import IntentLog
from jobs.delivery.lease import LeaseFence
from jobs.delivery.limits import CircuitBreaker
from jobs.delivery.plan import DeliveryPlan, WorkUnit
from jobs.delivery.rebatch import Rebatcher
from jobs.delivery.records import BatchReport, EventChunk
from jobs.delivery.sender import BatchSender, SendLane, new_lane
from jobs.delivery.source import EventReader
from jobs.providers.pacing import RetryPolicy
from jobs.providers.routing import ProviderRouter
from jobs.templates import TemplateLibrary
from jobs.templates.compose import channel_templates
from jobs.warehouse.store import DeltaStore

# Fires once per key when the bounded input ends (the final watermark), unlike
# processing-time timers, which a bounded job drops at end of input.
END_OF_INPUT = 2**62
PYTHON_WORKER_MODE_ENV = "_python_worker_execution_mode"
FLINK_GATEWAY_ENV = "PYFLINK_GATEWAY_PORT"
HADOOP_CLASSPATH_ENV = "HADOOP_CLASSPATH"
REPORTER_JAR = "plugins/metrics-prometheus/flink-metrics-prometheus-*.jar"
REPORTER_FACTORY = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"


@dataclass(frozen=True)
class DeliveryOptions:
    max_wait_ms: int = 1_000
    pause_refresh_s: float = 2.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 10.0
    # The instant quiet hours and send times are judged at; None: the clock, at each
    # batch (tests and replays fix one).
    now: datetime | None = None

    def clock(self) -> Callable[[], datetime]:
        fixed = self.now
        return (lambda: fixed) if fixed is not None else (lambda: datetime.now(UTC))


def build_environment(profile: Profile) -> StreamExecutionEnvironment:
    """A mini cluster locally; under `flink run -py` the cluster's own environment.

    Python workers run as their own processes, as on a cluster. PyFlink's local
    default ("loopback") runs them inside this driver process, where they share
    one interpreter lock with each other and with result collection: the job
    then uses one core however much parallelism it has.
    """
    os.environ[PYTHON_WORKER_MODE_ENV] = "process"
    launcher = launcher_settings()
    settings = job_settings(profile, launcher)
    if profile.flink.prometheus_port and not launcher:
        settings |= prometheus_reporter(profile.flink.prometheus_port)
    config = Configuration()  # starts PyFlink's JVM, when this process has none yet
    for key, value in settings.items():
        config.set_string(key, value)
    if settings.get("execution.target") == "remote":
        env = _submitted_from_here(config)
    else:
        env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(profile.flink.parallelism)
    return env


def _submitted_from_here(config: Configuration) -> StreamExecutionEnvironment:
    """An environment that submits to the session cluster the profile names
    (`execution.target: remote`, `rest.address`, `rest.port`, and `pipeline.jars`
    holding flink-python), without `flink run`: the context environment would
    ignore the target and start a mini cluster."""
    context = get_gateway().jvm.org.apache.flink.streaming.api.environment
    return StreamExecutionEnvironment(context.StreamExecutionEnvironment(config._j_configuration))


def job_settings(profile: Profile, launcher: dict[str, str]) -> dict[str, str]:
    """Ours, then the profile's; whatever `flink run` was given (-pyexec, -D) wins over both.

    Under `flink run` the settings passed here are stacked on top of the CLI's, so a
    key set here would silently override `-pyexec` on every TaskManager: such keys
    are left out.
    """
    settings = {
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        # A lost worker fails the job, and the driver runs again from what is durable
        # (message_sends and the intent log): a restart inside Flink would resend
        # without reconciling first, and ends the result stream anyway ("Job restarted").
        "restart-strategy.type": "none",
        **profile.flink.conf,
    }
    return {key: value for key, value in settings.items() if key not in launcher}


def prometheus_reporter(port: int) -> dict[str, str]:
    """Flink's Prometheus reporter in the mini cluster this process starts.

    A mini cluster loads reporters from its classpath, not from FLINK_PLUGINS_DIR, so
    the plugin's jar joins the classpath PyFlink gives its JVM (PyFlink appends
    $HADOOP_CLASSPATH to it): before that JVM starts, i.e. before the first job.
    """
    jar = next(Path(pyflink.__file__).parent.glob(REPORTER_JAR))
    existing = os.environ.get(HADOOP_CLASSPATH_ENV)
    if str(jar) not in (existing or "").split(os.pathsep):
        os.environ[HADOOP_CLASSPATH_ENV] = os.pathsep.join(filter(None, [existing, str(jar)]))
    return {
        "metrics.reporter.prom.factory.class": REPORTER_FACTORY,
        "metrics.reporter.prom.port": str(port),
    }


def launcher_settings() -> dict[str, str]:
    """What `flink run` was given (its -pyexec, -p, -D and the cluster's config.yaml);
    nothing when the job runs on a mini cluster in this process.

    `flink run -py` starts the JVM first and hands it to Python through
    PYFLINK_GATEWAY_PORT; its context environment holds the CLI's configuration.
    """
    if not os.environ.get(FLINK_GATEWAY_ENV):
        return {}
    jvm = get_gateway().jvm
    context = jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
    configured = context.getExecutionEnvironment().getConfiguration().toMap()
    return {str(key): str(value) for key, value in configured.items()}


class ReadEvents(FlatMapFunction):
    def __init__(self, store: DeltaStore, conf: Conf, library: TemplateLibrary, plan: DeliveryPlan):
        self.store, self.conf, self.library = store, conf, library
        self.ledger_version = plan.ledger_version

    def open(self, runtime_context: RuntimeContext) -> None:
        self.reader = EventReader(self.store, self.conf, self.library, self.ledger_version)

    def flat_map(self, unit: WorkUnit) -> Iterator[EventChunk]:
        yield from self.reader.read(unit)


class OldestEventTime(TimestampAssigner):
    def extract_timestamp(self, value: EventChunk, record_timestamp: int) -> int:
        return value.oldest_ms


class RebatchFunction(KeyedProcessFunction):
    """Keyed by retailer: full batches at once, partial ones after `max_wait_ms` or at the end."""

    def __init__(self, max_wait_ms: int) -> None:
        self.max_wait_ms = max_wait_ms

    def open(self, runtime_context: RuntimeContext) -> None:
        self.rebatchers: dict[str, Rebatcher] = {}
        self.end_armed: set[str] = set()
        self.wait_timers: dict[str, int] = {}

    def process_element(self, chunk: EventChunk, ctx: Any) -> Iterator[EventChunk]:
        retailer_id = ctx.get_current_key()
        rebatcher = self.rebatchers.setdefault(
            retailer_id, Rebatcher(retailer_id, max_wait_ms=self.max_wait_ms)
        )
        if retailer_id not in self.end_armed:
            ctx.timer_service().register_event_time_timer(END_OF_INPUT)
            self.end_armed.add(retailer_id)
        now = ctx.timer_service().current_processing_time()
        yield from rebatcher.add(chunk, now)
        if rebatcher.buffered and self.wait_timers.get(retailer_id, 0) <= now:
            due = now + self.max_wait_ms
            ctx.timer_service().register_processing_time_timer(due)
            self.wait_timers[retailer_id] = due

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[EventChunk]:
        rebatcher = self.rebatchers.get(ctx.get_current_key())
        if rebatcher is None:
            return
        if ctx.time_domain() == TimeDomain.EVENT_TIME:
            yield from rebatcher.drain()
        else:
            yield from rebatcher.due(ctx.timer_service().current_processing_time())


class SendFunction(AsyncFunction):
    def __init__(
        self,
        conf: Conf,
        store: DeltaStore,
        library: TemplateLibrary,
        plan: DeliveryPlan,
        options: DeliveryOptions,
        fence: LeaseFence | None,
    ):
        self.conf, self.store, self.options, self.fence = conf, store, options, fence
        self.library = library
        self.caps = dict(plan.caps)
        self.delivery_run_id, self.source_version = plan.delivery_run_id, plan.source_to

    def open(self, runtime_context: RuntimeContext) -> None:
        flink = self.conf.profile.flink
        self.router = ProviderRouter(
            self.conf,
            max_in_flight=flink.max_in_flight_per_workspace,
            sms_templates=partial(channel_templates, self.conf, self.library, "sms"),
            sms_segments=self.library.metadata.limits.sms_segments,
            policy=self.options.retry,
        )
        self.sender = BatchSender(
            lane_for=self._lane,
            pauses=PauseWatcher(self.store, refresh_s=self.options.pause_refresh_s),
            policy=self.options.retry,
            clock=self.options.clock(),
            intents=(
                IntentLog(
                    self.store,
                    self.delivery_run_id,
                    self.source_version,
                    check_lease=self.fence.check,
                )
                if self.fence is not None
                else None
            ),
        )

    def _lane(self, retailer_id: str, route: str) -> SendLane:
        return new_lane(
            self.router,
            retailer_id,
            route,
            daily_cap=self.caps.get(retailer_id),
            breaker=CircuitBreaker(
                threshold=self.options.breaker_threshold, cooldown_s=self.options.breaker_cooldown_s
            ),
            max_in_flight=self.conf.profile.flink.max_in_flight_per_workspace,
        )

    async def async_invoke(self, batch: EventChunk) -> list[BatchReport]:
        """The batch's report goes back to the driver, which commits it and counts it
        (jobs/delivery/metrics.py): counters kept here in Python did not reach Flink's
        reporter from this job (docs/operations.md#metrics)."""
        return [await self.sender.deliver(batch)]


def delivery_stream(
    env: StreamExecutionEnvironment,
    plan: DeliveryPlan,
    *,
    conf: Conf,
    store: DeltaStore,
    library: TemplateLibrary,
    options: DeliveryOptions,
    fence: LeaseFence | None = None,
) -> DataStream:
    """The job graph for one plan; the caller collects its batch reports. With a `fence`
    (the run's lease), every request is claimed in the intent log before it leaves."""
    chunks = (
        env.from_collection(list(plan.units))
        .name("campaign_events files")
        .flat_map(ReadEvents(store, conf, library, plan))
        .name("read events")
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(OldestEventTime())
        )
    )
    batches = (
        chunks.key_by(lambda chunk: chunk.retailer_id, key_type=Types.STRING())
        .process(RebatchFunction(options.max_wait_ms))
        .name("rebatch per retailer")
    )
    return AsyncDataStream.unordered_wait(
        batches,
        SendFunction(conf, store, library, plan, options, fence),
        # No Flink-level timeout: PyFlink starts one timer thread per in-flight record
        # for it, which costs more than the send. The sender bounds its own time
        # (client timeout, retry attempts, breaker).
        Time.seconds(0),
        conf.profile.flink.async_capacity,
    ).name("send")
