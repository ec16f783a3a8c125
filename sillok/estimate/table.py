"""The overlap table: how many people each combination of lists recorded.

Multiple systems estimation starts from one number per capture pattern: how many people were on
exactly this set of lists. The pattern "on no list" is never observed (it is what we estimate), so
a table over J lists has 2^J - 1 cells. This module holds that table, reads it from CSV with
errors that name the offending line and column, and builds it from per-person list memberships
(what the archive produces after record linkage).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sillok.errors import InvalidInput

COUNT_COLUMN = "count"


class TableError(InvalidInput, ValueError):
    """The overlap table is malformed; the message names the line and column at fault."""


def pattern_of(index: int, n_lists: int) -> tuple[int, ...]:
    """Return the capture pattern stored at ``index`` of a table over ``n_lists`` lists.

    Cells are in binary order of the pattern read with the first list as the most significant
    bit, skipping the all-zero pattern: index 0 is (0, ..., 0, 1), the last index is (1, ..., 1).
    """
    code = index + 1
    return tuple((code >> (n_lists - 1 - j)) & 1 for j in range(n_lists))


def index_of(pattern: Sequence[int]) -> int:
    """Return the cell index of a non-zero capture pattern (inverse of :func:`pattern_of`)."""
    code = 0
    for bit in pattern:
        code = (code << 1) | int(bit)
    if code == 0:
        raise TableError("the all-zero pattern (on no list) is unobserved and has no cell")
    return code - 1


@dataclass(frozen=True)
class OverlapTable:
    """Counts of people per capture pattern over named lists.

    Args:
        lists: the list (system) names, in column order.
        counts: one count per non-zero pattern, in the order of :func:`pattern_of`.
        stratum: the stratum this table belongs to (a year, a province), if any.
        notes: caveats carried into every estimate made from this table (for example that
            record linkage has not been run, so units are records rather than people).
    """

    lists: tuple[str, ...]
    counts: tuple[int, ...]
    stratum: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.lists) < 2:
            raise TableError(
                f"at least two lists are needed, got {len(self.lists)}: {', '.join(self.lists)}"
            )
        if len(set(self.lists)) != len(self.lists):
            raise TableError(f"list names repeat: {', '.join(self.lists)}")
        for name in self.lists:
            # model terms are written "a:b + c:d", so these characters would make them ambiguous
            if not name.strip():
                raise TableError("a list has no name")
            bad = sorted(set(name) & set(":+,"))
            if bad:
                raise TableError(f"list name {name!r} cannot contain {' '.join(bad)}; rename it")
        expected = 2 ** len(self.lists) - 1
        if len(self.counts) != expected:
            raise TableError(
                f"{len(self.lists)} lists need {expected} pattern counts, got {len(self.counts)}"
            )
        for i, value in enumerate(self.counts):
            if value < 0:
                raise TableError(
                    f"negative count {value} for pattern {self.describe_pattern(i)}"
                )

    @classmethod
    def from_cells(
        cls,
        lists: Sequence[str],
        cells: Mapping[tuple[int, ...], int],
        stratum: str | None = None,
        notes: Sequence[str] = (),
    ) -> OverlapTable:
        """Build a table from a pattern -> count mapping; absent patterns count zero."""
        counts = [0] * (2 ** len(lists) - 1)
        for pattern, count in cells.items():
            if len(pattern) != len(lists) or any(bit not in (0, 1) for bit in pattern):
                raise TableError(f"pattern {pattern} is not a 0/1 tuple over {len(lists)} lists")
            counts[index_of(pattern)] += int(count)
        return cls(tuple(lists), tuple(counts), stratum, tuple(notes))

    @property
    def n_lists(self) -> int:
        """The number of lists."""
        return len(self.lists)

    @property
    def observed(self) -> int:
        """The number of people on at least one list."""
        return sum(self.counts)

    def cells(self) -> Iterator[tuple[tuple[int, ...], int]]:
        """Yield (pattern, count) for every non-zero pattern."""
        for i, count in enumerate(self.counts):
            yield pattern_of(i, self.n_lists), count

    def pattern_array(self) -> np.ndarray:
        """The (2^J - 1, J) 0/1 matrix of patterns, rows in cell order."""
        return np.array([pattern_of(i, self.n_lists) for i in range(len(self.counts))],
                        dtype=np.int64)

    def count_array(self) -> np.ndarray:
        """The counts as an int64 vector in cell order."""
        return np.array(self.counts, dtype=np.int64)

    def list_totals(self) -> dict[str, int]:
        """How many people each list recorded."""
        totals = dict.fromkeys(self.lists, 0)
        for pattern, count in self.cells():
            for name, bit in zip(self.lists, pattern, strict=True):
                if bit:
                    totals[name] += count
        return totals

    def describe_pattern(self, index: int) -> str:
        """Name the lists of a cell, e.g. ``l1+l3``."""
        pattern = pattern_of(index, self.n_lists)
        return "+".join(name for name, bit in zip(self.lists, pattern, strict=True) if bit)

    def without_lists(self, names: Iterable[str]) -> OverlapTable:
        """Collapse the table over the given lists (drop them); people only on them vanish."""
        drop = set(names)
        keep = [j for j, name in enumerate(self.lists) if name not in drop]
        cells: dict[tuple[int, ...], int] = {}
        for pattern, count in self.cells():
            sub = tuple(pattern[j] for j in keep)
            if any(sub):
                cells[sub] = cells.get(sub, 0) + count
        return OverlapTable.from_cells(
            [self.lists[j] for j in keep], cells, self.stratum, self.notes
        )


def table_from_memberships(
    memberships: Iterable[Iterable[str]],
    lists: Sequence[str] | None = None,
    stratum: str | None = None,
    notes: Sequence[str] = (),
) -> OverlapTable:
    """Count people per capture pattern from each person's set of lists.

    Args:
        memberships: for each person (resolved identity), the names of the lists that recorded
            them.
        lists: the list names in the order wanted; by default the sorted names seen.
        stratum: the stratum label of the table.
        notes: caveats to carry into the estimates.

    Raises:
        TableError: a person is on no list, or on a list not named in ``lists``.
    """
    people = [frozenset(m) for m in memberships]
    names = tuple(lists) if lists is not None else tuple(sorted(set().union(*people)))
    position = {name: j for j, name in enumerate(names)}
    cells: dict[tuple[int, ...], int] = {}
    for number, person in enumerate(people, start=1):
        if not person:
            raise TableError(f"person {number} is on no list; only listed people can be counted")
        unknown = sorted(person - position.keys())
        if unknown:
            raise TableError(f"person {number} is on unknown list(s) {', '.join(unknown)}")
        bits = [0] * len(names)
        for name in person:
            bits[position[name]] = 1
        key = tuple(bits)
        cells[key] = cells.get(key, 0) + 1
    return OverlapTable.from_cells(names, cells, stratum, notes)


def strata_from_memberships(
    rows: Iterable[tuple[str, Iterable[str]]],
    lists: Sequence[str] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, OverlapTable]:
    """Build one table per stratum from (stratum, lists of the person) rows.

    Every stratum's table has the same lists (those given, or all names seen), so that
    estimates can be compared and summed.
    """
    grouped: dict[str, list[frozenset[str]]] = {}
    for stratum, person in rows:
        grouped.setdefault(str(stratum), []).append(frozenset(person))
    names = tuple(lists) if lists is not None else tuple(
        sorted(set().union(*(p for people in grouped.values() for p in people)))
    )
    return {
        stratum: table_from_memberships(grouped[stratum], names, stratum, notes)
        for stratum in sort_strata(grouped)
    }


def sort_strata(labels: Iterable[str]) -> list[str]:
    """Sort stratum labels numerically when they are all whole numbers (years), else as text."""
    values = list(labels)
    try:
        return sorted(values, key=int)
    except ValueError:
        return sorted(values)


def read_overlap_csv(path: str | Path) -> OverlapTable:
    """Read an overlap table: one 0/1 column per list and a ``count`` column.

    Raises:
        TableError: the file is malformed (the message names the line and column).
    """
    tables = _parse(Path(path), by=None)
    return tables[""]


def read_strata_csv(path: str | Path, by: str) -> dict[str, OverlapTable]:
    """Read an overlap table with a stratum column ``by``: one table per stratum value.

    Raises:
        TableError: the file is malformed or has no column ``by``.
    """
    return _parse(Path(path), by=by)


def _parse(path: Path, by: str | None) -> dict[str, OverlapTable]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise TableError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise TableError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_overlap_text(text, source=path.name, by=by)


def parse_overlap_text(text: str, source: str = "input", by: str | None = None
                       ) -> dict[str, OverlapTable]:
    """Parse CSV text into tables keyed by stratum ("" when ``by`` is None).

    Raises:
        TableError: with the source name, line and column of the first problem found.
    """
    reader = csv.reader(io.StringIO(text))
    rows = [(line, [cell.strip() for cell in row]) for line, row in enumerate(reader, start=1)]
    rows = [(line, row) for line, row in rows if any(row)]
    if not rows:
        raise TableError(f"{source}: the file is empty")
    header_line, header = rows[0]
    lowered = [name.lower() for name in header]
    if "" in header:
        column = header.index("") + 1
        raise TableError(f"{source}, line {header_line}: column {column} has no name")
    if len(set(lowered)) != len(lowered):
        raise TableError(f"{source}, line {header_line}: repeated column names in the header")
    if COUNT_COLUMN not in lowered:
        raise TableError(
            f"{source}: no '{COUNT_COLUMN}' column (columns: {', '.join(header)})"
        )
    count_at = lowered.index(COUNT_COLUMN)
    by_at: int | None = None
    if by is not None:
        if by.lower() not in lowered:
            raise TableError(
                f"{source}: no column '{by}' to stratify by (columns: {', '.join(header)})"
            )
        by_at = lowered.index(by.lower())
    list_at = [i for i in range(len(header)) if i not in (count_at, by_at)]
    lists = tuple(header[i] for i in list_at)
    if len(lists) < 2:
        found = ", ".join(f"'{name}'" for name in lists) or "none"
        raise TableError(
            f"{source}: at least two list columns are needed besides '{header[count_at]}'"
            f" (found {found})"
        )
    cells: dict[str, dict[tuple[int, ...], int]] = {}
    seen: dict[tuple[str, tuple[int, ...]], int] = {}
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise TableError(
                f"{source}, line {line}: {len(row)} values, expected {len(header)} "
                f"({', '.join(header)})"
            )
        pattern = tuple(_bit(row[i], source, line, header[i], by) for i in list_at)
        count = _count(row[count_at], source, line, header[count_at])
        stratum = ""
        if by_at is not None:
            stratum = row[by_at]
            if not stratum:
                raise TableError(f"{source}, line {line}, column '{header[by_at]}': empty value")
        if not any(pattern):
            raise TableError(
                f"{source}, line {line}: the all-zero pattern (on no list) cannot be observed;"
                " remove this row"
            )
        key = (stratum, pattern)
        if key in seen:
            where = f" in stratum '{stratum}'" if by_at is not None else ""
            raise TableError(
                f"{source}, line {line}: pattern {_show(lists, pattern)}{where} repeats "
                f"line {seen[key]}"
            )
        seen[key] = line
        cells.setdefault(stratum, {})[pattern] = count
    if not cells:
        raise TableError(f"{source}: the file has a header but no rows")
    return {
        stratum: OverlapTable.from_cells(lists, cells[stratum], stratum if by else None)
        for stratum in sort_strata(cells)
    }


def _bit(value: str, source: str, line: int, column: str, by: str | None) -> int:
    if value in ("0", "1"):
        return int(value)
    hint = "" if by else f" (if '{column}' is not a list, stratify with --by {column})"
    raise TableError(f"{source}, line {line}, column '{column}': {value!r} is not 0 or 1{hint}")


def _count(value: str, source: str, line: int, column: str) -> int:
    try:
        number = int(value)
    except ValueError:
        try:
            as_float = float(value)
        except ValueError:
            as_float = float("nan")
        if as_float.is_integer():
            number = int(as_float)
        else:
            raise TableError(
                f"{source}, line {line}, column '{column}': {value!r} is not a whole number"
            ) from None
    if number < 0:
        raise TableError(f"{source}, line {line}, column '{column}': {value} is negative")
    return number


def _show(lists: Sequence[str], pattern: Sequence[int]) -> str:
    return ",".join(f"{name}={bit}" for name, bit in zip(lists, pattern, strict=True))
