"""One validation problem: the unit an operator fixes, with its file and line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.errors import OperatorError


@dataclass(frozen=True)
class TemplateProblem:
    rule: str
    template_id: str
    file: str
    line: int
    message: str
    retailer_id: str | None = None
    campaign_id: str | None = None

    @property
    def blocks_deploy(self) -> bool:
        """A campaign's bad override stops its launch, not the template's deploy."""
        return self.campaign_id is None and self.rule != "unknown-override"

    def __str__(self) -> str:
        who = f"template '{self.template_id}'"
        who += f", retailer '{self.retailer_id}'" if self.retailer_id else ""
        who += f", campaign '{self.campaign_id}'" if self.campaign_id else ""
        return f"{self.file}:{self.line}: {who}: {self.message} [{self.rule}]"


class TemplateLibraryError(OperatorError):
    """The template library has problems: each line names its file, line and rule."""

    def __init__(self, problems: Sequence[TemplateProblem]) -> None:
        noun = "problem" if len(problems) == 1 else "problems"
        lines = [f"template library is invalid ({len(problems)} {noun}); fix these lines:"]
        super().__init__("\n".join(lines + [f"  - {problem}" for problem in problems]))
        self.problems = list(problems)
