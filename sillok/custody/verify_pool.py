"""Both passes of a verification in a pool of processes, with the report of the serial ones.

The pieces of pass 1 (:mod:`sillok.custody.verify_entries`: one per chunk of sequence numbers)
and of pass 2 (:mod:`sillok.custody.verify_rows`: one per table and chunk of ids) are
independent: each worker process checks one piece at a time with a read connection of its
own. Pass 1's workers return each entry's recomputed leaf hash, and the parent appends them to
the Merkle tree in order and checks the checkpoints; pass 2's results are added up in (table,
chunk) order, as :func:`~sillok.custody.verify_rows.verify_rows` does.

**The key.** The workers are forked from the process that unlocked the archive, so they hold
its engine (and the database key inside it) in the memory they inherit: the key is never
written to disk, a pipe or a command line, nor derived again. They are forked while the
parent holds no connection (its idle ones are closed first), and each opens its own.

**One state.** On PostgreSQL the parent exports the snapshot of its REPEATABLE READ
transaction (``pg_export_snapshot``) and every worker reads each piece in that snapshot, so
the pieces see exactly what the parent sees. SQLite has no shared snapshots: each piece is read in
one read transaction of its own (its rows, versions and entries agree with each other), and a
write committed during the verification may be seen by later pieces: it cannot make a piece
look damaged, and the next verification recomputes any chunk a newer entry names. Pass 1's
workers read only whole chunks below the log size the parent read (entries there never change),
and the parent reads the entries from there on itself, in its own transaction.

**Failures.** An error in a worker becomes a problem naming its piece and the kind of error
only (a driver's message may quote the values it was given): the verification fails, it does
not hang. A worker that dies (killed, out of memory) makes the pool break
(``BrokenProcessPool``) and is reported the same way. A piece of the log that could not be
checked ends pass 1 there (the tree after it cannot be rebuilt).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from sillok.custody.verify_entries import LogPiece, LogPieceResult, check_log_piece
from sillok.custody.verify_rows import Piece, PieceResult, check_piece
from sillok.store import ledger as store_ledger

if TYPE_CHECKING:
    from sillok.ledger.log import ArchiveLog
    from sillok.store import Store

P = TypeVar("P")
R = TypeVar("R")

#: what the workers verify with, set in the parent just before they are forked (inherited,
#: never sent to them)
_inherited: tuple[Store, ArchiveLog] | None = None


class PiecePool:
    """A pool of ``jobs`` forked worker processes checking pieces of both passes (a context
    manager: the workers are forked on entering, before the caller opens a connection, and
    stopped on leaving)."""

    def __init__(self, store: Store, log: ArchiveLog, jobs: int) -> None:
        self.store = store
        self.log = log
        self.jobs = jobs
        self._executor: ProcessPoolExecutor | None = None

    @staticmethod
    def available() -> bool:
        """Whether this system can fork (not Windows): without it, the rows are checked in
        the verifying process."""
        return "fork" in multiprocessing.get_all_start_methods()

    def __enter__(self) -> PiecePool:
        global _inherited
        # A connection open across a fork is shared with the child; close the idle ones so
        # that none is (the parent opens new ones as it needs them).
        self.store.engine.dispose()
        _inherited = (self.store, self.log)
        self._executor = ProcessPoolExecutor(
            self.jobs, mp_context=multiprocessing.get_context("fork"), initializer=_start
        )
        # fork every worker now, while this process holds no connection
        for future in [self._executor.submit(_ready) for _ in range(self.jobs)]:
            future.result()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _inherited
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        _inherited = None

    def check(self, pieces: Sequence[Piece], snapshot: str | None) -> Iterator[PieceResult]:
        """The results of ``pieces`` (pass 2), in their order; ``snapshot``: PostgreSQL's
        exported snapshot every piece is read in (None on SQLite).

        All are submitted before this returns. A piece whose worker died is given as a
        problem, and so is every piece after it (not verified)."""
        return self._results(_check, pieces, snapshot, _failed)

    def check_log(
        self, pieces: Sequence[LogPiece], snapshot: str | None
    ) -> Iterator[LogPieceResult]:
        """The results of ``pieces`` of the log (pass 1), in their order, as :meth:`check`;
        a piece that could not be checked says why in its ``failed``."""
        return self._results(_check_log, pieces, snapshot, _failed_log)

    def _results(
        self,
        work: Callable[[P, str | None], R],
        pieces: Sequence[P],
        snapshot: str | None,
        failed: Callable[[P, str], R],
    ) -> Iterator[R]:
        assert self._executor is not None, "use the pool as a context manager"
        try:
            futures = [self._executor.submit(work, piece, snapshot) for piece in pieces]
        except BrokenProcessPool as exc:  # a worker died earlier (in pass 1)
            return iter([_stopped(failed, pieces, 0, exc)] if pieces else [])
        return _in_order(futures, pieces, failed)


def _in_order(
    futures: list[Future[R]], pieces: Sequence[P], failed: Callable[[P, str], R]
) -> Iterator[R]:
    for index, future in enumerate(futures):
        try:
            yield future.result()
        except BrokenProcessPool as exc:
            for future_left in futures[index:]:
                future_left.cancel()
            yield _stopped(failed, pieces, index, exc)
            return


def _stopped(
    failed: Callable[[P, str], R], pieces: Sequence[P], index: int, exc: BaseException
) -> R:
    return failed(
        pieces[index],
        f"a verification worker stopped ({exc}); this piece and the "
        f"{len(pieces) - index - 1} after it were not verified",
    )


def _failed(piece: Piece, why: str) -> PieceResult:
    result = PieceResult(piece, "")
    result.report.problem(f"{piece.describe()} could not be verified: {why}")
    return result


def _failed_log(piece: LogPiece, why: str) -> LogPieceResult:
    return LogPieceResult(piece, failed=why)


def _start() -> None:
    """In a new worker: drop the connections the parent's engine had (not closing them:
    they are the parent's), so this process opens its own."""
    assert _inherited is not None
    _inherited[0].engine.dispose(close=False)


def _ready() -> bool:
    return True


def _check_log(piece: LogPiece, snapshot: str | None) -> LogPieceResult:
    """In a worker: hash one piece of the log; an error is returned as its kind only."""
    assert _inherited is not None
    try:
        with _inherited[0].reading() as conn:
            if snapshot is not None:
                conn = store_ledger.use_snapshot(conn, snapshot)
            return check_log_piece(conn, piece)
    except Exception as exc:  # returned to the verifying process, which reports it
        return _failed_log(piece, type(exc).__name__)


def _check(piece: Piece, snapshot: str | None) -> PieceResult:
    """In a worker: check one piece; an error is returned as a problem about it."""
    assert _inherited is not None
    store, log = _inherited
    try:
        with store.reading() as conn:
            if snapshot is not None:
                conn = store_ledger.use_snapshot(conn, snapshot)
            return check_piece(conn, log, piece)
    except Exception as exc:  # reported as a problem about the piece, not lost in the worker
        # the exception's kind only: a driver's message may quote the values it was given
        return _failed(piece, type(exc).__name__)
