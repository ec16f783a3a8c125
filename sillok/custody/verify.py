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
Both passes are cut into chunks (of sequence numbers, :mod:`sillok.custody.verify_entries`;
of ids per table, :mod:`sillok.custody.verify_rows`) that a pool of forked processes can
check (:mod:`sillok.custody.verify_pool`, ``jobs``) with the same report.

``sillok verify`` starts from the user's last verification (:mod:`sillok.custody.verified`):
entries and row chunks that are byte for byte what that verification checked are read and
fingerprinted, not recomputed; ``--full`` recomputes everything.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection

from sillok.custody import verified
from sillok.custody.verified import LogChanged, RecordDamaged, VerifiedState
from sillok.custody.verify_entries import verify_log
from sillok.custody.verify_pool import PiecePool
from sillok.custody.verify_report import MAX_PROBLEMS, VerifyReport
from sillok.custody.verify_rows import Progress, merge, pieces, verify_rows
from sillok.store import ledger as store_ledger

if TYPE_CHECKING:
    from sillok.vault import Vault

__all__ = ["MAX_PROBLEMS", "Progress", "Verification", "VerifyReport", "verify_log", "verify_rows"]


class Rehashing(Protocol):
    """What verification needs of the attachments (``archive.attachments``)."""

    def rehash(self, row: Any) -> str | None:
        """Re-hash one stored attachment; None if it matches, else what is wrong."""


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
            jobs: processes checking the log and the rows
                (:mod:`sillok.custody.verify_pool`, forked from this one: not from a process
                running threads, such as the web server); 1 (or a system that cannot fork)
                checks them in this process. The report is the same.
        """
        started = time.perf_counter()
        report = VerifyReport()
        record: tuple[Any, VerifiedState] | None = None
        with ExitStack() as stack:
            # the workers are forked first, while this process holds no connection
            pool = (
                stack.enter_context(PiecePool(self.vault.store, self.vault.log, jobs))
                if jobs > 1 and PiecePool.available()
                else None
            )
            conn = stack.enter_context(self.vault.store.reading())
            if self.vault.store.dialect.name == "postgresql":
                # One snapshot for both passes, so a concurrent writer is not a difference.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            # PostgreSQL: the workers read in this transaction's snapshot (None on SQLite)
            snapshot = store_ledger.export_snapshot(conn) if pool is not None else None
            state = store_ledger.log_state(conn)
            origin = state.origin if state is not None else ""
            signer = self.vault.log.author_signer(origin) if state is not None else None
            last = self._last(conn, signer, origin, report) if since_last else None
            try:
                passed = verify_log(conn, report, progress, last, pool, snapshot)
            except LogChanged as exc:
                report = VerifyReport(notes=[f"{exc}: everything was verified again"])
                last = None
                passed = verify_log(conn, report, progress, None, pool, snapshot)
            if rows:
                if pool is None:
                    prints = verify_rows(
                        conn, self.vault.log, report, progress, last, passed.touched
                    )
                else:
                    todo = pieces(conn, last, passed.touched)
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
