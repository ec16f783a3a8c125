"""What a verification found (:class:`VerifyReport`), and how the reports of its pieces add
up to the report of the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_PROBLEMS = 20


@dataclass
class VerifyReport:
    """What a verification found."""

    entries: int = 0
    rows: int = 0
    versions: int = 0
    checkpoints: int = 0
    attachments: int = 0
    unsigned: int = 0
    """Checkpoints signed by nobody, written before authorship (covered by a later signed
    one, if any)."""
    signed_size: int = 0
    """The size of the newest checkpoint signed with the organisation's key."""
    size: int = 0
    root: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    since: int | None = None
    """The log size of the last verification this one started from (None: in full)."""
    unchanged_rows: int = 0
    """Rows (of ``rows``) in chunks unchanged since then: fingerprinted, not recomputed."""
    notes: list[str] = field(default_factory=list)
    """Why a verification asked to start from the last one ran in full."""

    @property
    def ok(self) -> bool:
        """Whether nothing differed."""
        return not self.problems

    @property
    def first_problem(self) -> str | None:
        """The first difference found, or None."""
        return self.problems[0] if self.problems else None

    def problem(self, text: str) -> None:
        """Record a difference (the first few are kept in full)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "rows": self.rows,
            "versions": self.versions,
            "checkpoints": self.checkpoints,
            "attachments": self.attachments,
            "unsigned_checkpoints": self.unsigned,
            "signed_size": self.signed_size,
            "size": self.size,
            "root": self.root,
            "seconds": round(self.seconds, 3),
            "problems": self.problems,
            "more_problems": self.more_problems,
            "since": self.since,
            "unchanged_rows": self.unchanged_rows,
            "notes": self.notes,
        }

    def absorb(self, part: VerifyReport) -> None:
        """Add the counts and problems of a piece verified on its own, as if this report
        had checked it: the first problems kept in the same order, the rest counted."""
        self.rows += part.rows
        self.versions += part.versions
        self.unchanged_rows += part.unchanged_rows
        for problem in part.problems:
            self.problem(problem)
        self.more_problems += part.more_problems
