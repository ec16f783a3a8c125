"""Verifying an archive: recompute the Merkle log and every stored row's commitment.

``Verifier.run`` makes two passes and reports the first difference it finds (and a few more):

1. **The log.** Every entry, in order: its index is the next one, its canonical bytes
   (rebuilt from its columns) hash to its stored leaf hash, and the tree over all of them has
   the root of every signed checkpoint at that checkpoint's size (each signature checked with
   the archive's verifier key) and of the stored frontier. Editing, deleting, inserting or
   reordering any entry changes a leaf or a position, and so a root. Each checkpoint not signed
   by the organisation's key must be signed by the author key of a user whose role may write
   what its batch holds (:mod:`sillok.ledger.authorship`).
2. **The rows.** For every logged table, every row's content commitment is recomputed and
   compared with the last log entry about that row; every superseded version kept in
   ``record_versions`` is compared with the entry of that version; a row the log says exists
   must exist, and a row the log never saw must not. Editing, deleting, inserting or
   renumbering any row is caught here.

It reads in bounded chunks (keyset pagination), so memory stays flat however large the log.
Pass 2's chunks (:mod:`sillok.custody.verify_rows`) can be checked by a pool of forked
processes (:mod:`sillok.custody.verify_pool`, ``jobs``) with the same report.

``sillok verify`` starts from the user's last verification (:mod:`sillok.custody.verified`):
entries and row chunks that are byte for byte what that verification checked are read and
fingerprinted, not recomputed; ``--full`` recomputes everything.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from sillok.custody import verified
from sillok.custody.verified import (
    CHUNK,
    LogChanged,
    LogPass,
    RecordDamaged,
    VerifiedState,
    fingerprint,
    skip_verified,
)
from sillok.custody.verify_pool import PiecePool
from sillok.custody.verify_report import MAX_PROBLEMS, VerifyReport
from sillok.custody.verify_rows import Progress, merge, pieces, verify_rows
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

if TYPE_CHECKING:
    from sillok.vault import Vault

__all__ = ["MAX_PROBLEMS", "Progress", "Verification", "VerifyReport", "verify_log", "verify_rows"]


class Rehashing(Protocol):
    """What verification needs of the attachments (``archive.attachments``)."""

    def rehash(self, row: Any) -> str | None:
        """Re-hash one stored attachment; None if it matches, else what is wrong."""


def verify_log(
    conn: Connection,
    report: VerifyReport,
    progress: Progress | None = None,
    since: VerifiedState | None = None,
) -> LogPass:
    """Pass 1: every entry's leaf hash and position, every checkpoint, the frontier.

    With ``since``, the entries below its size are fingerprinted and compared with it, and
    recomputed from its compact range on.

    Raises:
        LogChanged: with ``since``, an entry or checkpoint below its size differs from then.
    """
    passed = LogPass()
    state = store_ledger.log_state(conn)
    if state is None:
        report.problem("the archive has no log state (ledger_state is empty)")
        return passed
    checkpoints = {size: (root, note) for size, root, note in store_ledger.checkpoints(conn)}
    frontier = CompactRange()
    first_key, notes = checkpoint_key_chain(conn, state.verifier_key)
    try:
        chain = follow_transitions(first_key, notes, state.origin)
    except CheckpointError as exc:
        report.problem(f"the chain of checkpoint keys is broken: {exc}")
        chain = []
    if (chain[-1].new_key if chain else first_key) != state.verifier_key:
        report.problem("the log's verifier key is not the last of its chain of checkpoint keys")

    authors = Authors.of(state.origin, store_ledger.author_events(conn, EVENTS))

    def check_checkpoint(size: int) -> None:
        root, note = checkpoints[size]
        report.checkpoints += 1
        if frontier.root() != root:
            report.problem(
                f"the log's first {size} entries do not have the root of the checkpoint "
                f"signed at size {size}: an entry before it was changed, removed or moved"
            )
        org_signed = is_signed(note, state.origin)
        try:
            if org_signed:
                signer = key_for_size(first_key, chain, size)
                cp = open_checkpoint(note, [signer], origin=state.origin)
            else:
                # written by a non-administrator: its author's signature is checked below,
                # and a later head signed by the organisation covers it
                cp = open_unsigned(note_text(note), origin=state.origin)
        except CheckpointError as exc:
            authors.check(note, org_signed=False)
            report.problem(f"checkpoint at size {size}: {exc}")
            return
        wrong, unsigned = authors.check(note, org_signed)
        if wrong is not None:
            report.problem(f"checkpoint at size {size} {wrong}")
        report.unsigned += unsigned
        if cp.size != size or cp.root != root:
            report.problem(f"checkpoint at size {size}: the signed note is for another tree")

    expected = 0
    chunk = hashlib.sha256()  # the fingerprint of the current chunk of entries
    if since is not None:
        chunk = skip_verified(conn, since, state.size, checkpoints, authors, passed)
        report.entries += since.size
        report.checkpoints += len([s for s in checkpoints if s < since.size])
        frontier = CompactRange.from_bytes(since.frontier)
        expected = since.size
        report.since = since.size
    if expected in checkpoints:
        check_checkpoint(expected)
    sha256 = hashlib.sha256
    touched = passed.touched if since is not None else None
    # Raw rows (no ORM processing): this loop runs once per entry of the whole log.
    entries = store_ledger.entries_in_order(conn, CHUNK, start=expected)
    for entry in entries:
        seq, tbl, rid, sub, ver, op, content, stored = entry
        if seq % CHUNK == 0 and seq:
            passed.log.append(chunk.hexdigest())
            chunk = hashlib.sha256()
        chunk.update(repr(entry).encode("utf-8") + b"\n")
        if touched is not None:
            touched.add((tbl, rid // CHUNK))
        if seq != expected:
            report.problem(f"log entry {expected} is missing (the next one is numbered {seq})")
            expected = seq
        try:
            canonical = entry_bytes(
                tbl, rid, sub, ver, op, None if content is None else bytes(content)
            )
        except ValueError:
            canonical = b""
        computed = sha256(b"\x00" + canonical).digest()
        if computed != bytes(stored):
            report.problem(
                f"log entry {seq} ({tbl} {rid}) does not hash to its stored leaf hash: "
                "the entry was edited"
            )
        frontier.append(computed)
        authors.saw(tbl, rid, op)
        expected += 1
        report.entries += 1
        if expected in checkpoints:
            check_checkpoint(expected)
        if progress is not None and expected % 100_000 == 0:
            progress("log", expected)
    if expected % CHUNK or (expected and len(passed.log) < expected // CHUNK):
        passed.log.append(chunk.hexdigest())
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


class Verification:
    """``archive.verification``: check the log and the rows."""

    def __init__(self, vault: Vault, attachments: Rehashing) -> None:
        self.vault = vault
        self.attachments = attachments

    def run(
        self,
        rows: bool = True,
        progress: Progress | None = None,
        since_last: bool = False,
        remember: bool = False,
        jobs: int = 1,
    ) -> VerifyReport:
        """Verify the archive; ``rows=False`` checks only the log (much faster).

        Args:
            since_last: start from this user's last verification (its signed record):
                recompute only what changed since; everything if there is none.
            remember: when it finds nothing wrong (and checked the rows), keep a signed
                record of it for the next verification to start from.
            jobs: processes checking the rows (:mod:`sillok.custody.verify_pool`, forked
                from this one: not from a process running threads, such as the web
                server); 1 (or a system that cannot fork) checks them in this process.
                The report is the same.
        """
        started = time.perf_counter()
        report = VerifyReport()
        record: tuple[Any, VerifiedState] | None = None
        with ExitStack() as stack:
            # the workers are forked first, while this process holds no connection
            pool = (
                stack.enter_context(PiecePool(self.vault.store, self.vault.log, jobs))
                if rows and jobs > 1 and PiecePool.available()
                else None
            )
            conn = stack.enter_context(self.vault.store.reading())
            if self.vault.store.dialect.name == "postgresql":
                # One snapshot for both passes, so a concurrent writer is not a difference.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            state = store_ledger.log_state(conn)
            origin = state.origin if state is not None else ""
            signer = self.vault.log.author_signer(origin) if state is not None else None
            last = self._last(conn, signer, origin, report) if since_last else None
            try:
                passed = verify_log(conn, report, progress, last)
            except LogChanged as exc:
                report = VerifyReport(notes=[f"{exc}: everything was verified again"])
                last = None
                passed = verify_log(conn, report, progress)
            if rows:
                if pool is None:
                    prints = verify_rows(
                        conn, self.vault.log, report, progress, last, passed.touched
                    )
                else:
                    todo = pieces(conn, last, passed.touched)
                    # PostgreSQL: the workers read in this transaction's snapshot
                    snapshot = store_ledger.export_snapshot(conn)
                    prints = merge(pool.check(todo, snapshot), report, progress)
                self._attachments(conn, report)
                if signer is not None and report.ok:
                    done = VerifiedState(
                        origin, report.size, passed.frontier, passed.log, passed.checkpoints,
                        prints,
                    )
                    record = (signer, done)
        if remember and record is not None:
            with self.vault.store.transaction() as conn:
                verified.remember(conn, *record)
        report.seconds = time.perf_counter() - started
        self.vault.audit.record(
            "verify", detail={"ok": report.ok, "entries": report.entries, "rows": report.rows}
        )
        return report

    def _last(
        self, conn: Connection, signer: Any, origin: str, report: VerifyReport
    ) -> VerifiedState | None:
        """This user's last verification, or None (with a note, or a problem if its record
        was changed)."""
        user = self.vault.user.name
        if signer is None:
            report.notes.append(f"{user}'s key copy has no author key: verified in full")
            return None
        try:
            last = verified.last_verified(conn, signer, origin)
        except RecordDamaged as exc:
            report.problem(
                f"the record of {user}'s last verification does not open with their author "
                f"key ({exc}): it was changed; everything was verified in full"
            )
            return None
        if last is None:
            report.notes.append(f"no earlier verification by {user}: verified in full")
        return last

    def _attachments(self, conn: Connection, report: VerifyReport) -> None:
        """Re-hash every stored attachment against its recorded SHA-256."""
        last = 0
        while True:
            batch = store_ledger.attachments_after(conn, last, 1000)
            if not batch:
                return
            for row in batch:
                report.attachments += 1
                problem = self.attachments.rehash(row)
                if problem:
                    report.problem(problem)
            last = batch[-1].id
