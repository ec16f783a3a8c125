"""Pass 1 of a verification: every log entry in order, the Merkle tree over them, every
checkpoint and its authorship.

The per-entry work (each entry's canonical bytes, rebuilt from its columns, and their RFC 9162
leaf hash, compared with the stored one) is independent between entries; the rest is not: the
compact range takes the leaves in order, a checkpoint's root is that of the entries before it,
and a checkpoint's authorship is checked against the batch of entries since the one before.
So the log is cut into pieces of ``CHUNK`` sequence numbers (:class:`LogPiece`, the chunks the
record of a verification fingerprints) that a pool of processes can check
(:func:`check_log_piece`, in :mod:`sillok.custody.verify_pool`): each returns its entries'
recomputed leaf hashes (32 bytes each), which of them differ from the stored ones, each entry's
(seq, table, id, operation) and the piece's fingerprint. The verifying process appends the
leaves to the compact range in order and checks the order, the checkpoints and the authorship
exactly as it does for the entries it hashes itself (:class:`_Walk`), so the report is the same.

With a pool, the verifying process hashes the entries itself before the first whole piece (an
incremental verification starts where the last one ended, inside a chunk) and from the last
whole piece below the log's recorded size on, in its own read transaction: so on SQLite, where
each piece is read in a transaction of its own, an entry appended during the verification is
not read by a worker, and entries beyond the recorded size are still found.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection

from sillok.custody import verified
from sillok.custody.verified import LogPass, VerifiedState, fingerprint, skip_verified
from sillok.custody.verify_report import VerifyReport
from sillok.ledger.authorship import EVENTS, Authors
from sillok.ledger.checkpoint import (
    CheckpointError,
    follow_transitions,
    is_signed,
    key_for_size,
    note_text,
    open_checkpoint,
    open_unsigned,
)
from sillok.ledger.entries import entry_bytes
from sillok.ledger.log import checkpoint_key_chain
from sillok.ledger.merkle import CompactRange
from sillok.store import ledger as store_ledger

Progress = Callable[[str, int], None]

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class LogPiece:
    """The log entries with ``lo <= seq < hi`` (one chunk of sequence numbers)."""

    lo: int
    hi: int
    cuts: tuple[int, ...] = ()
    """The checkpoints' sizes between ``lo`` and ``hi``: the batches of entries the
    authorship check needs the tables of."""

    def describe(self) -> str:
        """The piece in a few words (for a problem about it)."""
        return f"log entries {self.lo}-{self.hi - 1}"


@dataclass
class LogPieceResult:
    """What checking one piece of the log found; nothing read from the entries but their
    sequence numbers, tables, ids and operations (no content)."""

    piece: LogPiece
    fingerprint: str = ""
    leaves: bytes = b""
    """The recomputed leaf hash of each entry, 32 bytes each, in order."""
    whole: bool = False
    """Every entry of the piece is there and hashes to its stored leaf: then ``batches`` and
    ``touched`` say what the walk needs, and ``entries`` is empty."""
    batches: list[tuple[int, list[tuple[str, int, str]]]] = field(default_factory=list)
    """Per batch (up to each of the piece's ``cuts``, then to its end): the sequence number
    it ends before, and the (table, row id, operation) of its first entry of each table and
    of its every insert of an audit event (what :meth:`Authors.saw` keeps)."""
    touched: set[tuple[str, int]] = field(default_factory=set)
    """(table, id chunk) of every entry."""
    entries: list[tuple[int, str, int, str]] = field(default_factory=list)
    """Unless ``whole``: (seq, table, row id, operation) of each entry, in order."""
    edited: list[int] = field(default_factory=list)
    """Unless ``whole``: the positions (in ``entries``) of the entries that do not hash to
    their stored leaf."""
    failed: str | None = None
    """Why the piece could not be checked (the kind of error only), or None."""


class LogPool(Protocol):
    """What pass 1 needs of a pool of processes (:class:`~sillok.custody.verify_pool.PiecePool`)."""

    def check_log(
        self, pieces: Sequence[LogPiece], snapshot: str | None
    ) -> Iterator[LogPieceResult]:
        """The results of ``pieces`` in their order (all submitted before this returns)."""


def leaf_of(entry: tuple[Any, ...]) -> tuple[bytes, bool]:
    """An entry's recomputed leaf hash, and whether it is the stored one."""
    _seq, tbl, rid, sub, ver, op, content, stored = entry
    try:
        canonical = entry_bytes(tbl, rid, sub, ver, op, None if content is None else bytes(content))
    except ValueError:
        canonical = b""
    computed = _sha256(b"\x00" + canonical).digest()
    return computed, computed == bytes(stored)


def check_log_piece(conn: Connection, piece: LogPiece) -> LogPieceResult:
    """Recompute the leaf hash of every entry of one piece and fingerprint them."""
    digest = _sha256()
    result = LogPieceResult(piece)
    rows = result.entries
    leaves: list[bytes] = []
    size = verified.CHUNK
    touched = result.touched
    cuts = iter((*piece.cuts, piece.hi))
    end = next(cuts)
    seen: set[str] = set()
    saws: list[tuple[str, int, str]] = []
    for entry in store_ledger.entries_in_order(
        conn, piece.hi - piece.lo, start=piece.lo, stop=piece.hi
    ):
        seq, tbl, rid, op = entry[0], entry[1], entry[2], entry[5]
        digest.update(repr(entry).encode("utf-8") + b"\n")
        computed, same = leaf_of(entry)
        if not same:
            result.edited.append(len(rows))
        rows.append((seq, tbl, rid, op))
        leaves.append(computed)
        touched.add((tbl, rid // size))
        while seq >= end:
            result.batches.append((end, saws))
            seen, saws, end = set(), [], next(cuts)
        if tbl not in seen:
            seen.add(tbl)
            saws.append((tbl, rid, op))
        elif tbl == "audit_events" and op == "insert":
            saws.append((tbl, rid, op))
    result.batches.append((end, saws))
    result.fingerprint = digest.hexdigest()
    result.leaves = b"".join(leaves)
    if not result.edited and len(rows) == piece.hi - piece.lo:
        result.whole = True
        result.entries = []
    return result


class _Prints:
    """The fingerprints of the chunks of entries (for the record of the verification), as the
    entries pass: split at each entry whose sequence number is a multiple of ``CHUNK``."""

    def __init__(self, log: list[str], current: Any) -> None:
        self.log = log
        self.hash = current
        self.whole: str | None = None  # the current chunk's fingerprint, made by a worker

    def split(self) -> None:
        self.log.append(self.digest())
        self.hash = _sha256()
        self.whole = None

    def digest(self) -> str:
        return self.whole if self.whole is not None else str(self.hash.hexdigest())


class _Walk:
    """The entries in order, hashed here or by a worker: their order, the compact range, the
    checkpoints and their authorship."""

    def __init__(self, conn: Connection, report: VerifyReport, state: Any, passed: LogPass) -> None:
        self.report = report
        self.origin: str = state.origin
        self.checkpoints = {s: (root, note) for s, root, note in store_ledger.checkpoints(conn)}
        self.frontier = CompactRange()
        self.first_key, notes = checkpoint_key_chain(conn, state.verifier_key)
        try:
            self.chain = follow_transitions(self.first_key, notes, state.origin)
        except CheckpointError as exc:
            report.problem(f"the chain of checkpoint keys is broken: {exc}")
            self.chain = []
        if (self.chain[-1].new_key if self.chain else self.first_key) != state.verifier_key:
            report.problem("the log's verifier key is not the last of its chain of checkpoint keys")
        self.authors = Authors.of(state.origin, store_ledger.author_events(conn, EVENTS))
        self.expected = 0
        self.prints = _Prints(passed.log, _sha256())
        self.touched: set[tuple[str, int]] | None = None
        self.size: int = verified.CHUNK
        self.progress: Progress | None = None

    def check_checkpoint(self, size: int) -> None:
        report = self.report
        root, note = self.checkpoints[size]
        report.checkpoints += 1
        if self.frontier.root() != root:
            report.problem(
                f"the log's first {size} entries do not have the root of the checkpoint "
                f"signed at size {size}: an entry before it was changed, removed or moved"
            )
        org_signed = is_signed(note, self.origin)
        try:
            if org_signed:
                signer = key_for_size(self.first_key, self.chain, size)
                cp = open_checkpoint(note, [signer], origin=self.origin)
            else:
                # written by a non-administrator: its author's signature is checked below,
                # and a later head signed by the organisation covers it
                cp = open_unsigned(note_text(note), origin=self.origin)
        except CheckpointError as exc:
            self.authors.check(note, org_signed=False)
            report.problem(f"checkpoint at size {size}: {exc}")
            return
        wrong, unsigned = self.authors.check(note, org_signed)
        if wrong is not None:
            report.problem(f"checkpoint at size {size} {wrong}")
        report.unsigned += unsigned
        if cp.size != size or cp.root != root:
            report.problem(f"checkpoint at size {size}: the signed note is for another tree")

    def step(self, seq: int, tbl: str, rid: int, op: str, computed: bytes, same: bool) -> None:
        """One entry, whose leaf hash was recomputed (``same``: it is the stored one)."""
        if self.touched is not None:
            self.touched.add((tbl, rid // self.size))
        if seq != self.expected:
            self.report.problem(
                f"log entry {self.expected} is missing (the next one is numbered {seq})"
            )
            self.expected = seq
        if not same:
            self.report.problem(
                f"log entry {seq} ({tbl} {rid}) does not hash to its stored leaf hash: "
                "the entry was edited"
            )
        self.frontier.append(computed)
        self.authors.saw(tbl, rid, op)
        self.expected += 1
        self.report.entries += 1
        if self.expected in self.checkpoints:
            self.check_checkpoint(self.expected)
        if self.progress is not None and self.expected % 100_000 == 0:
            self.progress("log", self.expected)

    def hash_here(self, entries: Iterable[tuple[Any, ...]]) -> None:
        """Entries read by this process: hashed here."""
        prints, size, step = self.prints, self.size, self.step
        for entry in entries:
            seq = entry[0]
            if seq % size == 0 and seq:
                prints.split()
            prints.hash.update(repr(entry).encode("utf-8") + b"\n")
            computed, same = leaf_of(entry)
            step(seq, entry[1], entry[2], entry[5], computed, same)

    def absorb(self, result: LogPieceResult) -> None:
        """A piece hashed by a worker (the fingerprints are those of :meth:`hash_here`
        whenever the log has no gap, and a gap is a problem: no record is kept then)."""
        rows = result.entries
        if not rows:
            return
        first = rows[0][0]
        if first % self.size == 0 and first:
            self.prints.split()
        self.prints.whole = result.fingerprint
        leaves, edited, step = result.leaves, set(result.edited), self.step
        for index, (seq, tbl, rid, op) in enumerate(rows):
            step(seq, tbl, rid, op, leaves[32 * index : 32 * index + 32], index not in edited)

    def absorb_whole(self, result: LogPieceResult) -> None:
        """A piece with every entry, each hashing to its stored leaf: as :meth:`absorb` (the
        same problems, in the same order) without a step per entry."""
        lo = result.piece.lo
        if lo % self.size == 0 and lo:
            self.prints.split()
        self.prints.whole = result.fingerprint
        if self.touched is not None:
            self.touched |= result.touched
        report, authors, leaves = self.report, self.authors, result.leaves
        if lo != self.expected:
            report.problem(f"log entry {self.expected} is missing (the next one is numbered {lo})")
            self.expected = lo
        for end, saws in result.batches:
            start = self.expected
            first, last = 32 * (start - lo), 32 * (end - lo)
            self.frontier.extend(leaves[i : i + 32] for i in range(first, last, 32))
            for tbl, rid, op in saws:
                authors.saw(tbl, rid, op)
            self.expected = end
            report.entries += end - start
            if end in self.checkpoints:
                self.check_checkpoint(end)
            if self.progress is not None:
                for done in range(-(-(start + 1) // 100_000) * 100_000, end + 1, 100_000):
                    self.progress("log", done)


def verify_log(
    conn: Connection,
    report: VerifyReport,
    progress: Progress | None = None,
    since: VerifiedState | None = None,
    pool: LogPool | None = None,
    snapshot: str | None = None,
) -> LogPass:
    """Pass 1: every entry's leaf hash and position, every checkpoint, the frontier.

    With ``since``, the entries below its size are fingerprinted and compared with it, and
    recomputed from its compact range on. With ``pool``, whole chunks of entries are hashed
    by its processes (reading in ``snapshot`` on PostgreSQL); the report is the same.

    Raises:
        LogChanged: with ``since``, an entry or checkpoint below its size differs from then.
    """
    passed = LogPass()
    state = store_ledger.log_state(conn)
    if state is None:
        report.problem("the archive has no log state (ledger_state is empty)")
        return passed
    walk = _Walk(conn, report, state, passed)
    walk.progress = progress
    checkpoints = walk.checkpoints
    if since is not None:
        walk.prints.hash = skip_verified(conn, since, state.size, checkpoints, walk.authors, passed)
        report.entries += since.size
        report.checkpoints += len([s for s in checkpoints if s < since.size])
        walk.frontier = CompactRange.from_bytes(since.frontier)
        walk.expected = since.size
        walk.touched = passed.touched
        report.since = since.size
    if walk.expected in checkpoints:
        walk.check_checkpoint(walk.expected)
    start, size = walk.expected, walk.size
    if pool is None:
        walk.hash_here(store_ledger.entries_in_order(conn, size, start=start))
    elif not _pooled(conn, walk, pool, snapshot, start, int(state.size)):
        return passed  # a piece could not be checked: the rest of the log was not
    frontier = walk.frontier
    if walk.expected % size or (walk.expected and len(passed.log) < walk.expected // size):
        passed.log.append(walk.prints.digest())
    passed.frontier = frontier.to_bytes()
    passed.checkpoints = fingerprint(
        (s, *checkpoints[s]) for s in sorted(checkpoints) if s < frontier.size
    )
    report.size = frontier.size
    report.root = frontier.root().hex()
    if frontier.size != state.size:
        report.problem(
            f"the log holds {frontier.size} entries but its state says {state.size}: "
            "entries were removed or added"
        )
    elif bytes(state.frontier) != frontier.to_bytes():
        report.problem("the log's stored frontier differs from the recomputed tree")
    if state.size not in checkpoints:
        report.problem(f"no checkpoint covers the log's size {state.size}")
    signed = [s for s, (_root, note) in checkpoints.items() if is_signed(note, state.origin)]
    report.signed_size = max(signed, default=0)
    stray = [s for s in checkpoints if s > frontier.size]
    if stray:
        report.problem(f"a checkpoint claims size {max(stray)}, beyond the log's {frontier.size}")
    return passed


def _pooled(
    conn: Connection,
    walk: _Walk,
    pool: LogPool,
    snapshot: str | None,
    start: int,
    recorded: int,
) -> bool:
    """The entries from ``start`` on: the whole chunks below the ``recorded`` size by the
    pool, the others here; False if a piece could not be checked (a problem says so)."""
    size = walk.size
    first = -(-start // size) * size  # the first chunk boundary at or after start
    last = max(first, recorded // size * size)
    sizes = sorted(walk.checkpoints)
    todo = [
        LogPiece(
            lo, lo + size, tuple(sizes[bisect_right(sizes, lo) : bisect_left(sizes, lo + size)])
        )
        for lo in range(first, last, size)
    ]
    results = pool.check_log(todo, snapshot)  # the workers start on them now
    walk.hash_here(store_ledger.entries_in_order(conn, size, start=start, stop=first))
    for result in results:
        if result.failed is not None:
            walk.report.problem(
                f"{result.piece.describe()} could not be verified: {result.failed}; the log "
                "was not verified from there on"
            )
            return False
        if result.whole:
            walk.absorb_whole(result)
        else:
            walk.absorb(result)
    walk.hash_here(store_ledger.entries_in_order(conn, size, start=last))
    return True
