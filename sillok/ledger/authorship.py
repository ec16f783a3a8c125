"""Authorship: who signed each checkpoint of the log, and whether their role may write it.

Every user has an Ed25519 *author key* (the seed sealed to their X25519 key in ``keys.json``,
so only their passphrase reaches it; :mod:`sillok.security.keycopy`). Every checkpoint a user's
session writes is signed with it (key name :func:`~sillok.ledger.checkpoint.author_key_name`),
and an administrator's also with the organisation's key. The public halves are recorded in the
audit trail, itself in the log, by an administrator: ``author_key`` (at init, and for every
user when an older key file is converted), ``user_add`` and an administrator's ``user_passwd``
(a new key pair); ``user_remove`` retires the user's key.

``verify`` walks the log with :class:`Authors`: each checkpoint covers the *batch* of entries
since the one before (one transaction). A batch is accepted when its checkpoint is signed by the
organisation's key (administrators may write anything), or by the key of a user registered in
an earlier batch and not removed since, whose role may write every table the batch touches
(:func:`may_write`), and, for a batch that registers a key, who may manage users. Checkpoints
before the first registration (archives made before authorship) may be unsigned, as they were.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sillok.ledger.checkpoint import (
    _SIGNATURE_PREFIX,
    CheckpointError,
    Verifier,
    author_key_name,
    key_id,
    note_text,
    open_note,
    signature_names,
)
from sillok.security.policy import may

REGISTRATIONS = ("author_key", "user_add", "user_passwd")
"""Audit actions whose detail may register an author key (``user``, ``role``, ``author``)."""
REMOVALS = ("user_remove",)
EVENTS = (*REGISTRATIONS, *REMOVALS)

_RECORD_WRITERS = ("write", "import", "review", "statement.write")
_TABLE_WRITERS: dict[str, tuple[str, ...]] = {
    "users": ("users",),
    "audit_events": ("read",),  # every role's session records its logins, exports, verifies
    "attachments": ("attachment.add",),
    "attachment_custody": ("attachment.add", "attachment.get"),
    "statements": ("statement.write", "statement.publish"),
    "statement_signatories": ("statement.write",),
    "statement_person_signatories": ("statement.write",),
    "statement_events": ("statement.write",),
    "links": ("review",),
    "seal_keys": ("write", "import", "seal.shred"),
    "evidence_keys": ("attachment.add", "keys"),
}


def may_write(role: str, table: str) -> bool:
    """Whether a role may author rows of a logged table (any action of the policy that writes
    them). Coarse on purpose: the record tables go to every role that may change some kind of
    record; the policy decides the finer cases when the write is made."""
    return any(may(role, action) for action in _TABLE_WRITERS.get(table, _RECORD_WRITERS))


@dataclass(frozen=True)
class Author:
    """A registered author key: whose, with which role."""

    user: str
    role: str
    verifier: Verifier


def author_verifier(origin: str, public_b64: str) -> Verifier:
    """The note verifier of an author's public key (raw 32 bytes, base64) on a log's notes.

    Raises:
        CheckpointError: the key is not a base64 Ed25519 public key.
    """
    try:
        raw = base64.b64decode(public_b64, validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"an author key {public_b64[:20]!r} is not Ed25519") from None
    name = author_key_name(origin)
    return Verifier(name, key_id(name, raw), public)


@dataclass
class Authors:
    """The author keys known at each point of a walk through the log, and the batch so far."""

    origin: str
    events: dict[int, tuple[str, dict[str, object]]]
    known: dict[str, Author] = field(default_factory=dict)
    started: bool = False
    """Whether a key has been registered: from then on every checkpoint must be signed."""
    _tables: set[str] = field(default_factory=set)
    _events: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, origin: str, rows: list[tuple[int, str, str]]) -> Authors:
        """From the audit events that register and retire keys (id, action, detail JSON)."""
        events: dict[int, tuple[str, dict[str, object]]] = {}
        for event_id, action, detail in rows:
            try:
                data = json.loads(detail)
            except ValueError:
                continue
            if isinstance(data, dict) and (action in REMOVALS or "author" in data):
                events[event_id] = (action, data)
        return cls(origin, events)

    def saw(self, table: str, row_id: int, op: str) -> None:
        """One entry of the current batch."""
        self._tables.add(table)
        if table == "audit_events" and row_id in self.events and op == "insert":
            self._events.append(row_id)

    def check(self, note: str, org_signed: bool) -> tuple[str | None, bool]:
        """Close the batch at a checkpoint: (what is wrong with it or None, whether it is an
        unsigned checkpoint from before authorship).

        The batch's registrations and removals count from the next checkpoint on.
        """
        try:
            if org_signed:
                return None, False
            if not signature_names(note):
                if self.started:
                    return "is signed by nobody: every write since authorship is signed", False
                return None, True
            author = self._signer(note)
            if author is None:
                return "is signed by no known author's key", False
            if self._events and not may(author.role, "users"):
                return (
                    f"registers an author key, signed by {author.user!r} ({author.role}), "
                    "who may not manage users",
                    False,
                )
            denied = sorted(t for t in self._tables if not may_write(author.role, t))
            if denied:
                return (
                    f"was signed by {author.user!r}, a {author.role}, whose role may not write "
                    f"{', '.join(denied)}",
                    False,
                )
            return None, False
        finally:
            self._close()

    def passed(self) -> None:
        """Close a batch at a checkpoint verified before (a verification that starts from
        the last one): its registrations and removals count from here on, as after
        :meth:`check`."""
        self._close()

    def _signer(self, note: str) -> Author | None:
        name = author_key_name(self.origin)
        by_id = {a.verifier.key_id: a for a in self.known.values()}
        text_end = len(note_text(note))
        for line in note[text_end + 1 :].split("\n"):
            who, _sep, b64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
            if who != name:
                continue
            try:
                blob = base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError):
                continue
            author = by_id.get(int.from_bytes(blob[:4], "big"))
            if author is None:
                continue
            try:
                open_note(note, [author.verifier])
            except CheckpointError:
                return None
            return author
        return None

    def _close(self) -> None:
        for event_id in self._events:
            action, data = self.events[event_id]
            user = str(data.get("user", ""))
            if action in REMOVALS:
                self.known.pop(user, None)
                continue
            role = str(data.get("role") or (self.known[user].role if user in self.known else ""))
            try:
                verifier = author_verifier(self.origin, str(data["author"]))
            except CheckpointError:
                continue
            self.known[user] = Author(user, role, verifier)
            self.started = True
        self._tables, self._events = set(), []
