"""Diagnostics: the one type every stage uses to report a problem with the user's input.

A diagnostic never stops a run: stages return them beside their results, and the front ends print them.
The message texts themselves live in `typetool.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem in one file (or one path), with a stable code and a human message."""

    path: str
    code: str
    message: str
    severity: Severity = Severity.WARNING
    line: int | None = None  # 1-based
    column: int | None = None  # 0-based, in characters

    def format(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column + 1}"
        return f"{where}: {self.severity.value}: {self.message} [{self.code}]"
