"""Protecting persons: their names sealed under their own key, their contacts kept sealed,
their identity crypto-shredded (see :mod:`sillok.security.seal`)."""

from __future__ import annotations

from typing import Any

from sillok.errors import InvalidInput, NotFound
from sillok.messages import no_such
from sillok.security.policy import may
from sillok.security.refs import RefKey
from sillok.security.seal import commit_subject, is_sealed, person_subject
from sillok.store import persons as person_rows
from sillok.store.rows import get, update_record
from sillok.vault import Vault


class Protection:
    """``archive.protection``: protect a person, keep their contacts, shred their identity."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def _require(self, action: str) -> None:
        if not may(self.vault.role, action):
            raise InvalidInput(f"the {self.vault.role} role may not do that ({action})")

    def protect(self, person_id: int) -> None:
        """Mark a person protected: their names are sealed under their own key and leave the
        search index. Earlier versions of the names are not kept; the log's commitments to
        them open only with the person's commit key, which from now on only the seal key's
        holders can unwrap (every role's copy is erased)."""
        self._require("write")
        store = self.vault.store
        # The plaintext names are deleted below: overwrite the freed bytes.
        with store.erasing() as conn:
            person = get(conn, "person", person_id)
            if person is None:
                raise NotFound(no_such("person", person_id))
            # A victim's chosen ref may be their name: it becomes a keyed hash (security/refs).
            ref = RefKey.of(self.vault.sealer, conn).when_protected(person.ref)
            changes = {
                **({} if person.protected else {"protected": True}),
                **({} if ref == person.ref else {"ref": ref}),
            }
            if changes:
                update_record(conn, "person", person, changes, self.vault.user.name)
            person_rows.rewrite_names(
                conn, store.dialect, person_id, lambda name: not is_sealed(name)
            )
            self.vault.log.commit_keys.withdraw(conn, person_id, self.vault.sealer)
        store.truncate_wal()

    def add_contact(self, person_id: int, kind: str, value: str) -> int:
        """Keep a contact (phone, email, address...) of a person, always sealed."""
        self._require("write")
        with self.vault.store.transaction() as conn:
            return person_rows.add_contact(conn, self.vault.store.dialect, person_id, kind, value)

    def contacts(self, person_id: int, reveal: bool = False) -> list[dict[str, Any]]:
        """A person's contacts as the role may see them (opened and audited when revealed)."""
        disclosure = self.vault.disclosure
        with self.vault.store.reading() as conn:
            return [
                disclosure.row(conn, "person_contacts", row, "confidential", reveal)
                for row in person_rows.contacts_of(conn, person_id)
            ]

    def shred(self, person_id: int) -> bool:
        """Destroy a person's keys: their sealed names and contacts are gone for good, and so
        is the seal holders' copy of their commit key (the log's commitments to their names
        can no longer be tested by anyone).

        On the SQLCipher store the freed bytes are overwritten (``secure_delete``) and the
        write-ahead log is checkpointed and truncated, so the key leaves the files too.
        Returns False if the person had no key.
        """
        self._require("seal.shred")
        store = self.vault.store
        with store.erasing() as conn:
            done = self.vault.sealer.shred(conn, person_subject(person_id))
            done = self.vault.sealer.shred(conn, commit_subject(person_id)) or done
            if done:
                self.vault.audit.record("shred", "person", person_id, {}, conn=conn)
        if done:
            store.truncate_wal()
        return done
