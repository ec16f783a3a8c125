"""Person refs that carry no name and confirm no guess.

A person's ``ref`` is stored in the clear (every role reads it, and the Merkle log commits to
it as it is), so a ref must not hold a name, nor anything a role may compute from a guessed
name. Refs made from names are therefore keyed hashes under the *ref key*: a random field key
kept in ``seal_keys`` under the subject :data:`REF_SUBJECT`, wrapped under the seal master key
like every field key. Only the roles that hold the seal master key (the writers: admin and
documenter) unwrap it, so only they can make or match such a ref; it is re-wrapped, not
replaced, by a key rotation, so refs stay stable.

The forms (``digest`` is 32 hex digits of HMAC-SHA256 under the ref key):

* ``informant:{digest}`` of the informant's name;
* ``victim@{source}:{digest}`` of a victim named without a ``victim_ref``;
* ``perpetrator@{source}:{digest}`` of a named perpetrator;
* ``victim:{victim_ref}`` for a victim with a ref the user chose, as long as the victim is
  not protected; a protected victim's is ``victim#{digest}`` of the chosen ref (the chosen ref
  may be a name), made when the person is protected.

Archives made before these forms (refs keyed under a key every role derives, perpetrator
refs with the name) are re-keyed by the first writer's import (see
:mod:`sillok.records.ingest`), each change a new version of the person, in the log.
"""

from __future__ import annotations

import hmac
from typing import Protocol

from sqlalchemy import Connection

REF_SUBJECT = "person refs"
"""The ``seal_keys`` subject of the ref key."""

PROTECTED_VICTIM = "victim#"
"""The prefix of a protected victim's keyed ref (``victim#{digest}``)."""

CHOSEN_VICTIM = "victim:"
"""The prefix of a victim's ref as the user chose it (``victim:{victim_ref}``)."""


class KeyHolder(Protocol):
    """What the ref key is taken from (a :class:`sillok.security.seal.Sealer`)."""

    def subject_key(self, conn: Connection, subject: str) -> bytes: ...


class RefKey:
    """Makes the refs of persons under the archive's ref key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def of(cls, sealer: KeyHolder, conn: Connection) -> RefKey:
        """The archive's ref key (made on first use); needs the seal master key."""
        return cls(sealer.subject_key(conn, REF_SUBJECT))

    def digest(self, *parts: str) -> str:
        """32 hex digits of HMAC-SHA256 over the parts (joined by a unit separator)."""
        message = "\x1f".join(parts).encode("utf-8")
        return hmac.digest(self._key, message, "sha256").hex()[:32]

    def informant(self, name: str) -> str:
        """The ref of an informant."""
        return f"informant:{self.digest('informant', name)}"

    def unnamed_victim(self, source_ref: str, name: str) -> str:
        """The ref of a victim a source names without a ``victim_ref``."""
        return f"victim@{source_ref}:{self.digest('victim', source_ref, name)}"

    def perpetrator(self, source_ref: str, name: str) -> str:
        """The ref of a perpetrator a source names."""
        return f"perpetrator@{source_ref}:{self.digest('perpetrator', source_ref, name)}"

    def protected_victim(self, victim_ref: str) -> str:
        """The ref of a protected victim whose chosen ref is ``victim_ref``."""
        return f"{PROTECTED_VICTIM}{self.digest('victim ref', victim_ref)}"

    def when_protected(self, ref: str | None) -> str | None:
        """The ref a person gets when protected: a chosen victim ref is replaced by its keyed
        form; every other ref is kept (it carries no name)."""
        if ref is not None and ref.startswith(CHOSEN_VICTIM):
            return self.protected_victim(ref[len(CHOSEN_VICTIM) :])
        return ref


__all__ = ["CHOSEN_VICTIM", "PROTECTED_VICTIM", "REF_SUBJECT", "KeyHolder", "RefKey"]
