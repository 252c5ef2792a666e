"""A Prometheus server and a Pushgateway on loopback, from Debian's packages, for the
metrics tests: started on free ports, stopped by their process ids."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from jobs.dev.clusters import foreground, free_port, wait_for

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Prometheus:
    url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` evaluates to now: [{"metric": {...}, "value": [t, "v"]}]."""
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def firing(self, alertname: str) -> list[dict[str, str]]:
        """The labels of each firing instance of `alertname`."""
        answer = requests.get(f"{self.url}/api/v1/alerts", timeout=10)
        answer.raise_for_status()
        return [
            alert["labels"]
            for alert in answer.json()["data"]["alerts"]
            if alert["labels"]["alertname"] == alertname and alert["state"] == "firing"
        ]


@dataclass(frozen=True)
class Target:
    job: str
    port: int
    honor_labels: bool = False  # a Pushgateway's series keep their own job label


@contextmanager
def prometheus(
    folder: Path, targets: Sequence[Target], rule_files: Sequence[Path] = ()
) -> Iterator[Prometheus]:
    """Scrapes `targets` and evaluates `rule_files` every second."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": target.job,
                "honor_labels": target.honor_labels,
                "static_configs": [{"targets": [f"{LOOPBACK}:{target.port}"]}],
            }
            for target in targets
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    args = [
        "prometheus",
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address={LOOPBACK}:{port}",
    ]
    server = Prometheus(f"http://{LOOPBACK}:{port}")
    with foreground(args, dict(os.environ), folder / "prometheus.log"):
        wait_for(lambda: _ready(server.url), timeout=60, what="Prometheus ready")
        yield server


@contextmanager
def pushgateway(folder: Path) -> Iterator[tuple[str, int]]:
    """A Pushgateway (in memory); its URL and port."""
    port = free_port()
    args = ["prometheus-pushgateway", f"--web.listen-address={LOOPBACK}:{port}"]
    url = f"http://{LOOPBACK}:{port}"
    with foreground(args, dict(os.environ), folder / "pushgateway.log"):
        wait_for(lambda: _ready(url), timeout=60, what="Pushgateway ready")
        yield url, port


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False
