"""Where a Spark benchmark's time went, from Spark's own event log.

`campaigns bench audience --event-log DIR` runs with `spark.eventLog.enabled` into
DIR; afterwards jobs are grouped by their call site (the Python line that started
them: PySpark names jobs after it), their wall time counted once where they
overlap, and the largest are printed, so a profile is one flag away and reads the
same on any machine.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class StageTotal:
    """One call site's jobs: wall time (overlaps once) and their stages' work."""

    call_site: str
    seconds: float = 0.0
    stages: int = 0
    tasks: int = 0
    input_mb: float = 0.0
    shuffle_mb: float = 0.0

    def add_stage(self, info: dict[str, Any]) -> None:
        self.stages += 1
        self.tasks += info["Number of Tasks"]
        accumulables = {a.get("Name"): a.get("Value") for a in info.get("Accumulables", [])}
        self.input_mb += _mb(accumulables.get("internal.metrics.input.bytesRead"))
        for name in ("remoteBytesRead", "localBytesRead"):
            self.shuffle_mb += _mb(accumulables.get(f"internal.metrics.shuffle.read.{name}"))


def event_log_settings(directory: Path) -> dict[str, str]:
    """The session settings that write the event log this module reads."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": directory.resolve().as_uri(),
        # plain JSON lines in one file: readable here without a codec
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",
    }


def top_stages(directory: Path, *, limit: int = 8) -> list[StageTotal]:
    """The call sites whose jobs took longest (wall time, submitted to ended), over the
    newest event log in `directory`, with their stages' tasks, input and shuffle."""
    logs = sorted(directory.iterdir(), key=lambda p: p.stat().st_mtime)
    if not logs:
        return []
    started: dict[int, tuple[str, int]] = {}
    stage_site: dict[int, str] = {}
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    totals: dict[str, StageTotal] = {}
    for event in _events(logs[-1]):
        kind = event.get("Event")
        if kind == "SparkListenerJobStart":
            site = _job_site(event)
            started[event["Job ID"]] = (site, event["Submission Time"])
            for stage in event.get("Stage Infos", []):
                stage_site[stage["Stage ID"]] = site
        elif kind == "SparkListenerJobEnd" and event["Job ID"] in started:
            site, submitted = started.pop(event["Job ID"])
            spans[site].append((submitted, event["Completion Time"]))
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            site = stage_site.get(info["Stage ID"], _call_site(info["Stage Name"]))
            totals.setdefault(site, StageTotal(site)).add_stage(info)
    for site, site_spans in spans.items():
        totals.setdefault(site, StageTotal(site)).seconds = _covered_ms(site_spans) / 1000
    return sorted(totals.values(), key=lambda total: -total.seconds)[:limit]


def _job_site(event: dict[str, Any]) -> str:
    """A job's call site; jobs Spark starts itself (broadcasts, Delta's log) have none and
    are named after their first stage."""
    site = event.get("Properties", {}).get("callSite.short")
    if not site:
        stages = event.get("Stage Infos") or [{"Stage Name": "unknown"}]
        site = stages[0]["Stage Name"]
    return _call_site(site)


def _covered_ms(spans: list[tuple[int, int]]) -> int:
    """Milliseconds covered by the union of the spans: jobs a query starts together (its
    broadcasts) overlap and are counted once."""
    covered, reached = 0, None
    for start, end in sorted(spans):
        if reached is None or start > reached:
            covered += end - start
            reached = end
        elif end > reached:
            covered += end - reached
            reached = end
    return covered


def _events(log: Path) -> Iterator[dict[str, Any]]:
    """The events of one application's log: a file, or a rolling log's directory of parts."""
    parts = sorted(log.glob("events_*")) if log.is_dir() else [log]
    for part in parts:
        for line in part.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def profile_lines(directory: Path, *, limit: int = 8) -> list[str]:
    return [
        f"  {t.seconds:6.1f} s wall  {t.stages:3d} stages {t.tasks:5d} tasks  "
        f"read {t.input_mb:7.1f} MB  shuffle {t.shuffle_mb:7.1f} MB  {t.call_site}"
        for t in top_stages(directory, limit=limit)
    ]


def _call_site(stage_name: str) -> str:
    """`save at /repo/jobs/warehouse/tables.py:155` -> `save at jobs/warehouse/tables.py:155`."""
    action, _, where = stage_name.partition(" at ")
    if "site-packages/" in where:  # a library's line: named from its package on
        where = where.split("site-packages/", 1)[1]
    elif "jobs/" in where:  # ours: named from the package root
        where = where[where.index("jobs/") :]
    return f"{action} at {where}"


def _mb(value: object) -> float:
    try:
        return float(str(value)) / 2**20
    except ValueError:
        return 0.0
