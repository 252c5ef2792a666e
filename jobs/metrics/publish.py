"""Where a batch job's figures go when it ends: a Pushgateway, a textfile, or both.

A batch job is gone before Prometheus could scrape it, so it hands its figures over the
standard way: pushed to a Pushgateway ($CAMPAIGNS_PUSHGATEWAY_URL) or written as a
`.prom` file for node_exporter's textfile collector ($CAMPAIGNS_METRICS_DIR). Neither
set: nothing is published. A push that fails is reported, never fatal: the job's data
work is done and committed by then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlparse

from prometheus_client import CollectorRegistry, pushadd_to_gateway, write_to_textfile
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from jobs.errors import OperatorError

log = logging.getLogger(__name__)

PUSHGATEWAY_ENV = "CAMPAIGNS_PUSHGATEWAY_URL"
TEXTFILE_DIR_ENV = "CAMPAIGNS_METRICS_DIR"
PUSH_TIMEOUT_S = 10.0
# A Pushgateway groups series by job and these labels; `pipeline` keeps ours apart from
# other teams' jobs of the same name on a shared gateway.
GROUPING = {"pipeline": "campaigns"}


def publish(
    job: str, registry: CollectorRegistry, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Publish `registry` as `job`'s figures; one line per place it went (or failed to go).

    The push is a POST (pushadd): it replaces the job's series of the same name and
    keeps the rest, so `campaigns_job_last_success_timestamp_seconds` from the last good
    run survives a failed one, as the staleness alert needs.
    """
    environ = os.environ if environ is None else environ
    lines = []
    url = environ.get(PUSHGATEWAY_ENV)
    if url:
        lines.append(_push(pushgateway_url(url), job, registry))
    directory = environ.get(TEXTFILE_DIR_ENV)
    if directory:
        path = Path(directory) / f"campaigns_{job}.prom"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)  # written aside, then renamed: never half read
        lines.append(f"metrics: written to {path}")
    return lines


def pushgateway_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise OperatorError(
            f"${PUSHGATEWAY_ENV} is '{url}', which is not a Pushgateway address: set it to "
            "its URL, e.g. http://pushgateway.monitoring:9091, or unset it"
        )
    return url.rstrip("/")


def _push(url: str, job: str, registry: CollectorRegistry) -> str:
    try:
        pushadd_to_gateway(
            url, job=job, grouping_key=GROUPING, registry=registry, timeout=PUSH_TIMEOUT_S
        )
    except OSError as error:
        log.warning("metrics push to %s failed: %s", url, error)
        return f"metrics: push to {url} failed ({error}); the run itself is complete"
    return f"metrics: pushed to {url} (job {job}, pipeline campaigns)"


def combined(*sources: CollectorRegistry | Iterable[Metric]) -> CollectorRegistry:
    """One registry over several (a run's figures and a process's counters, or a status's
    gauges), read when published: nothing is registered twice across `--follow` runs."""
    registry = CollectorRegistry()
    for source in sources:
        registry.register(_Forward(source))
    return registry


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry | Iterable[Metric]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        if isinstance(self.source, CollectorRegistry):
            yield from self.source.collect()
        else:
            yield from self.source
