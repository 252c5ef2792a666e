"""Each batch job's run as Prometheus series: when it ran, whether it succeeded, how long
it took, and its own figures per retailer.

    campaigns_job_last_run_timestamp_seconds{job}       every run
    campaigns_job_last_success_timestamp_seconds{job}   successful runs only
    campaigns_job_duration_seconds{job}
    campaigns_job_succeeded{job}                        1 or 0
    campaigns_<job>_<figure>{retailer_id}               e.g. campaigns_launch_events
    campaigns_maintain_<figure>{table}                  upkeep is per table
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge

from jobs.audience.launch import CampaignLaunch, LaunchReport
from jobs.reporting.ingest import IngestReport
from jobs.templates.deploy import DeployReport
from jobs.warehouse.upkeep import TableUpkeep


@dataclass(frozen=True)
class RunFigures:
    job: str  # launch, ingest_events, deploy_templates, deliver
    seconds: float
    succeeded: bool
    # figure -> retailer_id -> value; a figure's help text is in FIGURE_HELP
    figures_by_key: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    label: str = "retailer_id"  # what the figures are per
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry()
        labels = {"job": self.job}
        at = self.finished_at.timestamp()
        _gauge(
            registry, "campaigns_job_last_run_timestamp_seconds", "When it last ended", labels, at
        )
        if self.succeeded:
            _gauge(
                registry, "campaigns_job_last_success_timestamp_seconds", "Last success", labels, at
            )
        _gauge(registry, "campaigns_job_duration_seconds", "Run time", labels, self.seconds)
        _gauge(registry, "campaigns_job_succeeded", "1: the run succeeded", labels, self.succeeded)
        for figure, values in self.figures_by_key.items():
            gauge = Gauge(
                f"campaigns_{self.job}_{figure}",
                FIGURE_HELP.get(figure, figure.replace("_", " ")),
                [self.label],
                registry=registry,
            )
            for key, value in sorted(values.items()):
                gauge.labels(key).set(value)
        return registry


FIGURE_HELP = {
    "runs": "Campaign runs launched in the last run",
    "audience_messages": "Candidates (customer and channel) of the runs launched",
    "suppressed": "Candidates suppressed (consent, bounces, frequency cap, holdout aside)",
    "events": "campaign_events rows written",
    "refused_runs": "Runs refused by the per-retailer data checks",
    "fetched": "Events fetched from the provider's export",
    "refused_events": "Export events not stored (malformed)",
    "failed_workspaces": "Workspaces whose export could not be read",
    "templates_changed": "Templates created or updated in the workspace",
    "templates_failed": "Templates the workspace did not accept",
    "templates_withheld": "Templates withheld by validation",
    "files": "Data files in the table after upkeep",
    "log_bytes": "Size of the table's _delta_log before upkeep",
    "vacuumed_files": "Files vacuum deleted",
}


def launch_figures(
    report: LaunchReport, launches: Sequence[CampaignLaunch], seconds: float
) -> RunFigures:
    figures: dict[str, dict[str, float]] = {
        name: {} for name in ("runs", "audience_messages", "suppressed", "events", "refused_runs")
    }
    for run in report.launched:
        rid = run.retailer_id
        _add(figures["runs"], rid, 1)
        _add(figures["audience_messages"], rid, run.audience_size)
        _add(figures["suppressed"], rid, sum(run.suppressed_by_reason.values()))
        _add(figures["events"], rid, run.events)
    retailer_of = {launch.run_id: launch.retailer.retailer_id for launch in launches}
    for run_id in report.refused:
        _add(figures["refused_runs"], retailer_of[run_id], 1)
    return RunFigures("launch", seconds, not report.refused, figures)


def ingest_figures(report: IngestReport) -> RunFigures:
    figures: dict[str, dict[str, float]] = {
        "fetched": {},
        "refused_events": {},
        "failed_workspaces": {},
    }
    for workspace in report.workspaces:
        rid = workspace.retailer_id
        _add(figures["fetched"], rid, workspace.fetched)
        _add(figures["refused_events"], rid, workspace.refused)
        _add(figures["failed_workspaces"], rid, 1 if workspace.error else 0)
    return RunFigures("ingest_events", report.seconds, not report.failed, figures)


def deploy_figures(report: DeployReport) -> RunFigures:
    figures: dict[str, dict[str, float]] = {
        "templates_changed": {},
        "templates_failed": {},
        "templates_withheld": {},
    }
    for retailer in report.retailers:
        actions = list(retailer.actions.values())
        rid = retailer.retailer_id
        figures["templates_changed"][rid] = sum(a in ("created", "updated") for a in actions)
        figures["templates_failed"][rid] = actions.count("failed")
        figures["templates_withheld"][rid] = len(retailer.withheld)
    return RunFigures("deploy_templates", report.seconds, report.ok, figures)


def maintain_figures(upkeep: Sequence[TableUpkeep]) -> RunFigures:
    """Per table rather than per retailer: upkeep is the warehouse's, not a tenant's."""
    figures: dict[str, dict[str, float]] = {"files": {}, "log_bytes": {}, "vacuumed_files": {}}
    for table in upkeep:
        figures["files"][table.table] = (table.after or table.before).files
        figures["log_bytes"][table.table] = table.before.log_bytes
        figures["vacuumed_files"][table.table] = table.vacuumed
    seconds = sum(table.seconds for table in upkeep)
    ok = not any(table.problem for table in upkeep)
    return RunFigures("maintain", seconds, ok, figures, label="table")


def _add(values: dict[str, float], retailer_id: str, amount: float) -> None:
    values[retailer_id] = values.get(retailer_id, 0) + amount


def _gauge(
    registry: CollectorRegistry, name: str, help_text: str, labels: dict[str, str], value: float
) -> None:
    Gauge(name, help_text, list(labels), registry=registry).labels(**labels).set(value)
