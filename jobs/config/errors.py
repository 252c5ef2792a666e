"""Configuration errors that tell the operator what is wrong, where, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.errors import OperatorError


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one file: the unit an operator fixes."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.reason}"


class ConfigError(OperatorError):
    """Raised when conf/ does not validate; nothing may run on a bad configuration.

    All problems found are reported together so that one edit-and-rerun cycle
    fixes them all, each naming the file and the field.
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"configuration is invalid ({len(problems)} {noun}); nothing was run:\n{lines}\n"
            "Fix the fields named above and check again with `campaigns validate-config`."
        )
