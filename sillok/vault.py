"""The vault: an opened archive's state, which every service is given.

A :class:`Vault` holds what opening an archive produced (the folder, the store, the keys of
the user who opened it, their role, the settings) and what every write needs (the Merkle log,
the sealer, the write hooks that seal and log each row, the audit trail). The services of
:mod:`sillok.records`, :mod:`sillok.custody` and :mod:`sillok.linkage.archive` are typed on a
Vault and built with one by :class:`sillok.archive.Archive`; none of them imports the archive,
so the import graph points down only (docs/design.md, "Layers as built").
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from sillok.directory import Directory
from sillok.errors import ArchiveError
from sillok.ledger.hooks import ArchiveHooks
from sillok.ledger.log import ArchiveLog
from sillok.model import organizations, places
from sillok.security.audit import AuditTrail
from sillok.security.disclosure import Disclosure
from sillok.security.keys import SALTS, SIGNING, ArchiveKeys
from sillok.security.policy import User, may_open_sealed
from sillok.security.seal import Sealer
from sillok.settings import Settings
from sillok.store import Store
from sillok.store.rows import HOOKS_OPTION


class Vault:
    """An opened archive's state: keys, store, user, directories, log, sealer, write hooks."""

    def __init__(
        self,
        folder: Path,
        store: Store,
        keys: ArchiveKeys,
        settings: Settings,
        user: User,
    ) -> None:
        self.folder = folder
        self.store = store
        self.keys = keys
        self.user = user
        # Changes are recorded under the name of the user who opened the archive.
        self.settings = replace(settings, actor=user.name)
        # Every writer signs their checkpoints with their own author key; only a copy that
        # holds the organisation's signing key (administrators') signs with it too.
        self.log = ArchiveLog(store.dialect, self.key_for(SALTS), keys.get(SIGNING), keys.author)
        self.sealer = Sealer(store.dialect, keys.seal if may_open_sealed(user.role) else None)
        self.hooks = ArchiveHooks(self.log, self.sealer, self._audit_write)
        self.audit = AuditTrail(self)
        self.disclosure = Disclosure(self)
        # Set when a key rotation was interrupted (see sillok.custody.rotation.rotate_keys).
        self.pending_keys: ArchiveKeys | None = None
        self.previous_keys: ArchiveKeys | None = None
        self.opened_with_pending = False
        self.attach_hooks(store)

    def attach_hooks(self, store: Store) -> None:
        """Make every connection ``store`` hands out carry the write hooks, so that every
        write through :mod:`sillok.store.rows` is sealed and logged, whichever service makes it."""
        store.engine = store.engine.execution_options(**{HOOKS_OPTION: self.hooks})

    def use_sealer(self, sealer: Sealer) -> None:
        """Seal and open with ``sealer`` from now on (after a login upgrade or a rotation)."""
        self.sealer = sealer
        self.hooks.sealer = sealer

    def resume_rotation(
        self, current: ArchiveKeys, pending: ArchiveKeys, with_pending: bool
    ) -> None:
        """An interrupted key rotation: field keys may be wrapped under either master key."""
        self.pending_keys = pending
        self.opened_with_pending = with_pending
        self.previous_keys = current if with_pending else None
        other = current if with_pending else pending
        self.log.accept_signing_key(other.get(SIGNING))
        if self.sealer.can_open and other.seal is not None:
            self.use_sealer(Sealer(self.store.dialect, self.keys.seal, older=[other.seal]))

    @property
    def role(self) -> str:
        """The role of the user who opened the archive."""
        return self.user.role

    def key_for(self, purpose: str) -> bytes:
        """The key of one purpose (:mod:`sillok.security.keys`), if this user's copy holds it.

        Raises:
            ArchiveError: the role's copy does not hold it (the policy does not let it do what
                the key is for).
        """
        key = self.keys.get(purpose)
        if key is None:
            raise ArchiveError(f"a {self.role}'s key copy holds no {purpose} key")
        return key

    @cached_property
    def places(self) -> Directory:
        """Places, from the places vocabulary and what imports added."""
        with self.store.reading() as conn:
            return Directory(places, "places").load(conn)

    @cached_property
    def organizations(self) -> Directory:
        """Organizations, from the agencies vocabulary and what imports added."""
        with self.store.reading() as conn:
            return Directory(organizations, "agencies").load(conn)

    def share_directories(self, other: Vault) -> None:
        """Use ``other``'s loaded places and organizations (a server's logins share them)."""
        self.__dict__["places"] = other.places
        self.__dict__["organizations"] = other.organizations

    def _audit_write(self, conn: Any, table_name: str, op: str, ids: list[int]) -> None:
        detail: dict[str, Any] = {"table": table_name, "op": op, "rows": len(ids)}
        if ids:
            detail["first_id"], detail["last_id"] = min(ids), max(ids)
        self.audit.record("write", detail=detail, conn=conn)
