"""Pass 2 of a verification: every row of every logged table, and every kept version,
against the log.

The rows are cut into pieces, one per (table, chunk of ``CHUNK`` ids): each piece reads its
own rows, kept versions and log entries, and gives a fingerprint and a :class:`VerifyReport`
of its own, which :meth:`VerifyReport.absorb` adds to the whole in (table, chunk) order. So the
pieces can be checked in this process one after the other (:func:`verify_rows`) or in a pool
of processes (:mod:`sillok.custody.verify_pool`) with the same report.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from sillok.custody.verified import CHUNK, VerifiedState, fingerprint
from sillok.custody.verify_report import VerifyReport
from sillok.ledger.entries import (
    LEGACY_SHAPES,
    LOGGED_TABLES,
    SHAPES,
    Entry,
    TableShape,
    content_commitment,
)
from sillok.ledger.log import ArchiveLog
from sillok.model import RECORD_TABLES
from sillok.store import ledger as store_ledger

_KIND_OF_TABLE = {t.name: kind for kind, t in RECORD_TABLES.items()}

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Piece:
    """One (table, chunk of ``CHUNK`` ids) of pass 2."""

    table: str
    number: int
    known: str | None = None
    """Its fingerprint at the last verification, when it may be skipped if unchanged (no
    newer entry names it); None: recompute it."""

    @property
    def bounds(self) -> tuple[int, int]:
        """The ids ``lo <= id < hi`` it covers."""
        return self.number * CHUNK, (self.number + 1) * CHUNK

    def describe(self) -> str:
        """The piece in a sentence (for a problem about it)."""
        lo, hi = self.bounds
        return f"{self.table} ids {lo}-{hi - 1}"


@dataclass
class PieceResult:
    """What checking one piece found: its fingerprint, counts and problems."""

    piece: Piece
    fingerprint: str
    report: VerifyReport = field(default_factory=VerifyReport)


def pieces(
    conn: Connection,
    since: VerifiedState | None = None,
    touched: set[tuple[str, int]] | None = None,
) -> list[Piece]:
    """Every piece of pass 2, in (table, chunk) order: the chunks from the smallest to the
    largest id that a table or the log's entries about it hold."""
    out: list[Piece] = []
    for table in LOGGED_TABLES:
        shape = SHAPES[table.name]
        span = _key_range(conn, shape)
        if span is None:
            continue
        known = since.rows.get(table.name, {}) if since is not None else {}
        for number in range(span[0] // CHUNK, span[1] // CHUNK + 1):
            skippable = (table.name, number) not in (touched or ())
            out.append(Piece(table.name, number, known.get(number) if skippable else None))
    return out


def check_piece(conn: Connection, log: ArchiveLog, piece: Piece) -> PieceResult:
    """Fingerprint one piece and, unless it is what was verified last time, check it."""
    shape = SHAPES[piece.table]
    lo, hi = piece.bounds
    raw, rows = store_ledger.checked_rows_in_range(conn, shape.table, shape.key, lo, hi)
    kept: list[tuple[int, int, str]] = []
    if shape.versioned:
        kind = _KIND_OF_TABLE[piece.table]
        kept = sorted(store_ledger.kept_versions_in_range(conn, kind, lo, hi))
    result = PieceResult(piece, fingerprint(itertools.chain(raw, ["versions"], kept)))
    report = result.report
    if piece.known is not None and piece.known == result.fingerprint:
        report.rows += len(rows)
        report.unchanged_rows += len(rows)
        report.versions += len(kept)
    else:
        _verify_chunk(conn, log, shape, lo, hi, rows, kept, report)
    return result


def merge(
    results: Iterable[PieceResult], report: VerifyReport, progress: Progress | None = None
) -> dict[str, dict[int, str]]:
    """Add the pieces' results, in the order given, to ``report``; returns the fingerprints
    (table -> chunk number -> fingerprint). ``progress`` hears of each table as it ends."""
    prints: dict[str, dict[int, str]] = {}
    table: str | None = None
    for result in results:
        if table is not None and result.piece.table != table and progress is not None:
            progress(table, report.rows)
        table = result.piece.table
        report.absorb(result.report)
        prints.setdefault(table, {})[result.piece.number] = result.fingerprint
    if table is not None and progress is not None:
        progress(table, report.rows)
    return prints


def verify_rows(
    conn: Connection,
    log: ArchiveLog,
    report: VerifyReport,
    progress: Progress | None = None,
    since: VerifiedState | None = None,
    touched: set[tuple[str, int]] | None = None,
) -> dict[str, dict[int, str]]:
    """Pass 2 in this process, piece after piece.

    Rows are taken in chunks of ``CHUNK`` ids; each chunk is fingerprinted. With ``since``,
    a chunk whose fingerprint it holds and that no newer entry names (``touched``) is not
    recomputed. Returns the fingerprints (table -> chunk number -> fingerprint).
    """
    todo: Iterator[PieceResult] = (
        check_piece(conn, log, piece) for piece in pieces(conn, since, touched)
    )
    return merge(todo, report, progress)


def _key_range(conn: Connection, shape: TableShape) -> tuple[int, int] | None:
    lo, hi = store_ledger.id_range(conn, shape.table, shape.key[0])
    elo, ehi = store_ledger.entry_id_range(conn, shape.table.name)
    values = [v for v in (lo, hi, elo, ehi) if v is not None]
    return (int(min(values)), int(max(values))) if values else None


def _describe(shape: TableShape, key: tuple[int, int | None]) -> str:
    name = shape.table.name
    return f"{name} {key[0]}" if key[1] is None else f"{name} {key[0]}/{key[1]}"


def _verify_chunk(
    conn: Connection,
    log: ArchiveLog,
    shape: TableShape,
    lo: int,
    hi: int,
    rows: list[dict[str, Any]],
    kept_rows: list[tuple[int, int, str]],
    report: VerifyReport,
) -> None:
    name = shape.table.name
    logged: dict[tuple[int, int | None], list[Entry]] = {}
    for seq, tbl, rid, sub, ver, op, content, leaf in store_ledger.entries_in_range(
        conn, name, lo, hi
    ):
        logged.setdefault((rid, sub), []).append(
            Entry(seq, tbl, rid, sub, ver, op, None if content is None else bytes(content), leaf)
        )
    person_keys = log.person_keys(conn, name, rows)
    kept: dict[int, dict[int, str]] = {}
    for rid, kept_version, data in kept_rows:
        kept.setdefault(rid, {})[kept_version] = data
    for mapping in rows:
        key = shape.key_of(mapping)
        report.rows += 1
        history = logged.pop(key, None)
        if not history:
            report.problem(f"{_describe(shape, key)} is not in the log: it was added behind it")
            continue
        _check_history(shape, key, history, report)
        last = history[-1]
        version = int(mapping["version"]) if shape.versioned else None
        content = _content(log, shape, mapping, version, person_keys)
        if person_keys and content != last.content:
            # logged before its person had a commit key: committed with the salt key
            content = _content(log, shape, mapping, version)
        if content != last.content and shape.table.name in LEGACY_SHAPES:
            # logged before its ref was committed salted: the ref in the clear
            content = _content(log, LEGACY_SHAPES[shape.table.name], mapping, version)
        if last.op == "delete":
            report.problem(
                f"{_describe(shape, key)} exists, but the log recorded its deletion "
                f"(entry {last.seq})"
            )
        elif last.version != version:
            report.problem(
                f"{_describe(shape, key)} is at version {version} but the log's last entry "
                f"(entry {last.seq}) is version {last.version}"
            )
        elif last.content != content:
            report.problem(
                f"{_describe(shape, key)} differs from what the log recorded (entry {last.seq}): "
                "the stored row was changed"
            )
        if shape.versioned:
            _verify_versions(log, shape, key, history[:-1], kept.pop(key[0], {}), report)
    for rid, stray in kept.items():
        for version in stray:
            report.problem(
                f"{name} {rid} has a version {version} in its history but no current row"
            )
    for key, history in logged.items():
        _check_history(shape, key, history, report)
        last = history[-1]
        if last.op != "delete":
            report.problem(
                f"{_describe(shape, key)} is missing: the log recorded it (entry {last.seq}) "
                "and no deletion"
            )


def _check_history(
    shape: TableShape, key: tuple[int, int | None], history: list[Entry], report: VerifyReport
) -> None:
    """A row's entries must alternate: no insert while it exists, no change once deleted.

    A row deleted behind the log whose key was then given again (SQLite gives ids from the
    largest one left) shows as a second insert with no deletion between.
    """
    present = False
    for entry in history:
        if entry.op == "insert" and present:
            report.problem(
                f"{_describe(shape, key)} was inserted again (entry {entry.seq}) with no "
                "deletion logged before: a row was deleted behind the log and its key reused"
            )
        elif entry.op != "insert" and not present:
            report.problem(
                f"{_describe(shape, key)} has a logged {entry.op} (entry {entry.seq}) while the "
                "log says it does not exist"
            )
        present = entry.op != "delete"


def _content(
    log: ArchiveLog,
    shape: TableShape,
    mapping: Any,
    version: int | None,
    person_keys: dict[int, bytes] | None = None,
) -> bytes:
    return content_commitment(log.committed(shape, mapping, version, person_keys))


def _verify_versions(
    log: ArchiveLog,
    shape: TableShape,
    key: tuple[int, int | None],
    earlier: list[Entry],
    kept: dict[int, str],
    report: VerifyReport,
) -> None:
    for entry in earlier:
        assert entry.version is not None
        data = kept.pop(entry.version, None)
        report.versions += 1
        if data is None:
            report.problem(
                f"{_describe(shape, key)} version {entry.version} is missing from its history "
                f"(logged at entry {entry.seq})"
            )
            continue
        try:
            mapping = json.loads(data)
        except ValueError:
            report.problem(f"{_describe(shape, key)} version {entry.version}: history damaged")
            continue
        content = _content(log, shape, mapping, entry.version)
        if content != entry.content and shape.table.name in LEGACY_SHAPES:
            content = _content(log, LEGACY_SHAPES[shape.table.name], mapping, entry.version)
        if content != entry.content:
            report.problem(
                f"{_describe(shape, key)} version {entry.version} in its history differs from "
                f"what the log recorded (entry {entry.seq})"
            )
    for version in kept:
        report.problem(
            f"{_describe(shape, key)} has a version {version} in its history that the log "
            "never recorded"
        )


