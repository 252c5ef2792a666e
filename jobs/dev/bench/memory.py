"""Peak resident memory of a benchmark: this process and every process it started.

A benchmark's memory is spread over processes: the Python driver, the JVM it
starts (Spark's driver, Flink's mini cluster), Python workers (Spark's, Flink's
Beam workers) and the provider simulator. Each is sampled from /proc a few
times a second; the peak of each kind's summed RSS is reported against the
8 GiB budget (docs/benchmarks.md), so a regression in any one of them shows, and
the peak of all of them together against the machine's memory.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BUDGET_BYTES = 8 * 2**30
_PAGE = os.sysconf("SC_PAGE_SIZE")
KINDS = ("driver", "jvm", "python workers", "simulator")


@dataclass
class PeakMemory:
    """Peak summed RSS per kind of process, and of all of them at one instant."""

    peaks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    total: int = 0

    def sample(self, root: int) -> None:
        by_kind: dict[str, int] = defaultdict(int)
        for pid in _tree(root):
            rss = _rss(pid)
            if rss:
                by_kind["driver" if pid == root else _kind(pid)] += rss
        for kind, rss in by_kind.items():
            self.peaks[kind] = max(self.peaks.get(kind, 0), rss)
        self.total = max(self.total, sum(by_kind.values()))

    def line(self) -> str:
        parts = ", ".join(f"{kind} {_gib(rss)}" for kind, rss in self.peaks.items() if rss)
        within = "within" if max(self.peaks.values()) <= BUDGET_BYTES else "ABOVE"
        return (
            f"peak RSS: {parts} (each {within} the {_gib(BUDGET_BYTES)} budget); "
            f"all together {_gib(self.total)} of the machine's {_gib(_machine_bytes())}"
        )


@contextmanager
def peak_memory(interval_s: float = 0.25) -> Iterator[PeakMemory]:
    """Sample this process's tree until the block ends; read `.line()` afterwards."""
    peak, stop = PeakMemory(), threading.Event()
    root = os.getpid()

    def sampler() -> None:
        while not stop.wait(interval_s):
            peak.sample(root)

    thread = threading.Thread(target=sampler, name="peak-memory", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()
        peak.sample(root)


def _tree(root: int) -> list[int]:
    """`root` and its descendants (from each process's parent in /proc/*/stat)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent(entry)
            if parent is not None:
                children[parent].append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _parent(entry: Path) -> int | None:
    try:
        stat = (entry / "stat").read_text()
    except OSError:  # the process ended between listing and reading
        return None
    # the command name (field 2) may contain spaces and parentheses: split after its ')'
    return int(stat.rsplit(")", 1)[1].split()[1])


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _kind(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "python workers"
    program = Path(command[0].decode(errors="replace")).name if command else ""
    if program == "java":
        return "jvm"
    if b"provider-sim" in command:
        return "simulator"
    return "python workers"


def _machine_bytes() -> int:
    return int(os.sysconf("SC_PHYS_PAGES")) * _PAGE


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"
