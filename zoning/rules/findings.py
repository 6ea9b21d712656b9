"""Problems found in rule files: each with its file and line, where it is, and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass

from zoning.errors import DataError

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem found in a rule file (or a layer it refers to), as ``zoning rules validate`` prints it."""

    severity: str  # error (the engine refuses the rules), warning or info
    path: str
    line: int | None  # 1-based; None where the problem is not in a text file
    where: str  # "list X, clause Y, field Z"
    message: str
    hint: str  # how to fix it

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.location}: {where}{self.message} (fix: {self.hint})"


class FileError(DataError):
    """A rule file that cannot be read or parsed."""

    def __init__(self, finding: Finding):
        super().__init__(str(finding))
        self.finding = finding


def raise_errors(findings, *, more_hint: str = "") -> None:
    """Raise :class:`DataError` with the first few error findings, if there are any."""
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        more = f" (+{len(errors) - 3} more{more_hint})" if len(errors) > 3 else ""
        raise DataError("; ".join(map(str, errors[:3])) + more)

