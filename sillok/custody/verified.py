"""The record of a user's last verification, from which the next one starts.

A full ``verify`` recomputes every log entry and every row's commitment. What it checked is
fingerprinted as it goes: SHA-256 over the entries exactly as the store returned them, in
chunks of ``CHUNK`` sequence numbers; over the rows (and kept versions) of each chunk of
``CHUNK`` ids of each logged table; over the checkpoints below the verified size. The
fingerprints, the log's size and compact range at that size go into a
:class:`VerifiedState`, signed with the verifying user's own author key (Ed25519; the seed
lives only in that user's key copy, sealed under their passphrase) and kept in
``archive_meta``.

The next verification by the same user starts from it (docs/design.md, "Verifying from the
last verification"):

* it checks the signature with that user's public author key; a record that does not open is
  itself reported as a difference, and everything is verified in full;
* it reads the older entries and rows again and compares their fingerprints: a chunk that is
  byte for byte what was verified, and that no newer log entry names, is not recomputed; any
  other chunk is verified in full; an older entry or checkpoint that changed (the log only
  grows) makes the whole verification a full one;
* the newer entries are recomputed from the recorded compact range on.

So it skips only the recomputation of bytes that this user has verified already; reading and
hashing them remains (about a tenth of the work). Someone who can write the database but does
not hold the user's author key can delete the record (a full verification follows) or put
back an older one of the same user (a longer verification follows), not make a changed
chunk pass as verified.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from sillok.ledger.authorship import Authors
from sillok.ledger.checkpoint import CheckpointError, Signer, open_note
from sillok.ledger.merkle import CompactRange
from sillok.store import ledger as store_ledger

#: ids (and sequence numbers) per fingerprinted chunk; a record of another size is not used
CHUNK = 5_000
_FORMAT = "sillok verification record 1"


def fingerprint(items: Any) -> str:
    """SHA-256 (hex) over the ``repr`` of tuples as the driver returned them."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(repr(item).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class VerifiedState:
    """What one verification found whole: the log's size and compact range then, and the
    fingerprints of what it checked."""

    origin: str
    size: int
    frontier: bytes
    log: list[str]
    """One fingerprint per chunk of entries (the last one up to ``size``)."""
    checkpoints: str
    """Of the checkpoints below ``size`` (the one at ``size`` may be countersigned later)."""
    rows: dict[str, dict[int, str]] = field(default_factory=dict)
    """table -> chunk number (id // CHUNK) -> fingerprint of its rows and kept versions."""
    verified_at: str = ""

    def text(self) -> str:
        """The note text that is signed."""
        body = {
            "size": self.size,
            "frontier": self.frontier.hex(),
            "chunk": CHUNK,
            "log": self.log,
            "checkpoints": self.checkpoints,
            "rows": {t: {str(k): v for k, v in c.items()} for t, c in self.rows.items()},
            "verified_at": self.verified_at,
        }
        return f"{_FORMAT}\n{self.origin}\n{json.dumps(body, sort_keys=True)}\n"

    @classmethod
    def from_text(cls, text: str) -> VerifiedState:
        """Parse a signed record's text.

        Raises:
            ValueError: it is not a record of this format.
        """
        lines = text.split("\n")
        if len(lines) != 4 or lines[0] != _FORMAT:
            raise ValueError("not a verification record of this version")
        body = json.loads(lines[2])
        if body.get("chunk") != CHUNK:
            raise ValueError("made with other chunks")
        return cls(
            origin=lines[1],
            size=int(body["size"]),
            frontier=bytes.fromhex(body["frontier"]),
            log=[str(v) for v in body["log"]],
            checkpoints=str(body["checkpoints"]),
            rows={t: {int(k): str(v) for k, v in c.items()} for t, c in body["rows"].items()},
            verified_at=str(body["verified_at"]),
        )


class LogChanged(Exception):
    """Entries or checkpoints below the last verified size differ from what was verified."""


@dataclass
class LogPass:
    """What the log pass leaves for the rows pass and the next verification's record."""

    frontier: bytes = b""
    log: list[str] = field(default_factory=list)
    checkpoints: str = ""
    touched: set[tuple[str, int]] = field(default_factory=set)
    """(table, id chunk) of every entry checked after the last verification."""


class RecordDamaged(Exception):
    """The stored record does not carry the user's signature (it was changed)."""


def who(signer: Signer) -> str:
    """The archive_meta key suffix of a user's records: their author key's fingerprint."""
    return hashlib.sha256(signer.verifier_key().encode()).hexdigest()[:32]


def last_verified(conn: Connection, signer: Signer, origin: str) -> VerifiedState | None:
    """The user's last verification, None if there is none (or one of another format).

    Raises:
        RecordDamaged: a record is stored for this user's key and its signature does not
            verify, or it is for another log.
    """
    note = store_ledger.verification_record(conn, who(signer))
    if note is None:
        return None
    try:
        text = open_note(note, [signer.verifier()])
    except CheckpointError as exc:
        raise RecordDamaged(str(exc)) from None
    try:
        state = VerifiedState.from_text(text)
    except (ValueError, KeyError, TypeError):
        return None  # signed, of another version: not used
    if state.origin != origin:
        raise RecordDamaged("it is for another log")
    return state


def remember(conn: Connection, signer: Signer, state: VerifiedState) -> None:
    """Sign and keep the record of a verification that found nothing wrong."""
    state.verified_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    store_ledger.save_verification_record(conn, who(signer), signer.sign_note(state.text()))


def skip_verified(
    conn: Connection,
    since: VerifiedState,
    size: int,
    checkpoints: dict[int, tuple[bytes, str]],
    authors: Authors,
    passed: LogPass,
) -> Any:
    """Fingerprint the entries and checkpoints below ``since.size`` and compare them with
    it; returns the fingerprint of the last chunk so far (a hashlib object: the entries
    after ``since.size`` continue it).

    Raises:
        LogChanged: they differ (the log only grows: an older entry never changes).
    """
    if since.size > size:
        raise LogChanged(
            f"the log holds {size} entries, fewer than the {since.size} it held when it was "
            f"last verified ({since.verified_at})"
        )
    below = [s for s in sorted(checkpoints) if s < since.size]
    if fingerprint((s, *checkpoints[s]) for s in below) != since.checkpoints:
        raise LogChanged(
            f"a checkpoint below size {since.size} changed since the last verification"
        )
    closing = set(below)
    chunk = hashlib.sha256()
    if 0 in closing:
        authors.passed()
    count = 0
    for entry in store_ledger.entries_in_order(conn, CHUNK, stop=since.size):
        seq = entry[0]
        if seq != count:
            break  # a gap: the fingerprint of the chunk differs
        if seq % CHUNK == 0 and seq:
            passed.log.append(chunk.hexdigest())
            chunk = hashlib.sha256()
        chunk.update(repr(entry).encode("utf-8") + b"\n")
        authors.saw(entry[1], entry[2], entry[5])
        count += 1
        if count in closing:
            authors.passed()
    # the last chunk read, whole or not, as the verification that is remembered closed it
    last = [*passed.log, chunk.hexdigest()] if count else passed.log
    if count != since.size or last != since.log or CompactRange.from_bytes(
        since.frontier
    ).size != since.size:
        raise LogChanged(
            f"log entries below {since.size} changed since they were last verified "
            f"({since.verified_at})"
        )
    return chunk
