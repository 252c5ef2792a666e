"""Data quality gates with Great Expectations 1.x, on Spark DataFrames.

A gate runs before anything is written: a failed expectation stops the job
with a report naming the table, the check, how many rows broke it, and a few
of them, so the operator can find the bad rows upstream.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import Expectation

from jobs.errors import OperatorError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckFailure:
    table: str
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.check}: {self.detail}"


@dataclass
class QualityReport:
    failures: list[CheckFailure] = field(default_factory=list)
    checks_run: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    def extend(self, other: QualityReport) -> None:
        self.failures.extend(other.failures)
        self.checks_run += other.checks_run

    def render(self) -> str:
        if self.passed:
            return f"data quality: {self.checks_run} checks passed"
        lines = "\n".join(f"  - {failure}" for failure in self.failures)
        return f"data quality: {len(self.failures)} of {self.checks_run} checks failed:\n{lines}"


class DataQualityError(OperatorError):
    """A quality gate failed; nothing was written."""

    def __init__(self, report: QualityReport, stage: str) -> None:
        self.report = report
        super().__init__(
            f"{report.render()}\nThe {stage} was stopped before writing anything. Fix the rows "
            "named above at their source (or the configuration) and run again."
        )


def require(report: QualityReport, stage: str) -> None:
    """Log the report; stop `stage` (nothing written yet) when any expectation failed."""
    log.info(report.render())
    if not report.passed:
        raise DataQualityError(report, stage)


class QualityGate:
    """One ephemeral GE context per job run; validates DataFrames against suites."""

    def __init__(self) -> None:
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self._context.data_sources.add_spark(name="warehouse")

    def validate(
        self, df: DataFrame, table: str, expectations: Sequence[Expectation]
    ) -> QualityReport:
        asset = self._source.add_dataframe_asset(name=f"{table}-{len(self._source.assets)}")
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": df}
        )
        suite = gx.ExpectationSuite(name=asset.name, expectations=list(expectations))
        result = batch.validate(suite)
        failures = [
            CheckFailure(
                table, _describe(r.expectation_config), _detail(r.result, r.exception_info)
            )
            for r in result.results
            if not r.success
        ]
        return QualityReport(failures, checks_run=len(result.results))


def _describe(config: Any) -> str:
    kwargs = {
        k: v
        for k, v in config.kwargs.items()
        if k in ("column", "column_list", "column_A", "column_B", "mostly", "regex")
    }
    return f"{config.type}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


def _detail(result: dict[str, Any], exception_info: dict[str, Any] | None) -> str:
    error = _raised(exception_info)
    if error is not None:
        return f"the check itself could not run: {error}"
    unexpected = result.get("unexpected_count")
    total = result.get("element_count")
    examples = result.get("partial_unexpected_list") or []
    return f"{unexpected} of {total} rows fail; for example {examples[:5]}"


def _raised(exception_info: dict[str, Any] | None) -> str | None:
    """GE reports an exception flat, or nested under each metric's id."""
    if not exception_info:
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for nested in exception_info.values():
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return str(nested.get("exception_message"))
    return None
