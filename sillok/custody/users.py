"""Users: who may open the archive, with which role; logging in; rotating the keys.

A user is a holder of a copy of the archive's keys in ``keys.json`` (see
:mod:`sillok.security.keys`)
and a row of the ``users`` table. The table, inside the encrypted database and covered by the
Merkle log, is what says which role a user has: ``keys.json`` lies in the folder in the clear,
so a role written there only counts when the table agrees. Removing a user deletes their copy
of the keys; rotating the keys afterwards (``sillok keys rotate``) makes any copy they kept
useless for the database as it is from then on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from sillok.errors import ArchiveError, InvalidInput, NotFound, WrongPassphrase
from sillok.folder import KEYS_FILE
from sillok.model import users as users_table
from sillok.security.keys import ArchiveKeys, KeyFile, WrappedKey, derive_key
from sillok.security.policy import ROLES, User, may, may_open_sealed
from sillok.store import Store
from sillok.store.dialects import Dialect
from sillok.store.rows import insert_rows, now, update_row

if TYPE_CHECKING:
    from sillok.vault import Vault

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSPHRASE = 8


def check_name(name: str) -> str:
    """A valid user name, or :class:`InvalidInput` naming it."""
    if not _NAME.match(name or ""):
        raise InvalidInput(
            f"user name {name!r}: use 1-100 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    """A known role, or :class:`InvalidInput` naming it."""
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_passphrase(passphrase: str) -> str:
    """A passphrase long enough, or :class:`InvalidInput` (which never repeats it)."""
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise InvalidInput(f"a passphrase needs at least {MIN_PASSPHRASE} characters")
    return passphrase


def keys_for_role(keys: ArchiveKeys, role: str) -> ArchiveKeys:
    """The keys a role receives: the seal master key only for roles that may open seals."""
    return keys if may_open_sealed(role) else keys.without_seal()


def open_store(
    dialect: Dialect, keys: ArchiveKeys, pending: ArchiveKeys | None
) -> tuple[Store, ArchiveKeys]:
    """Open the store with the database key, or with the pending one of a rotation.

    A rotation rekeys the database between writing the pending keys and making them
    current; whichever key opens it is the right one.
    """
    store = Store(dialect, derive_key(keys.database, "database"))
    try:
        store.check()
        return store, keys
    except ArchiveError:
        store.close()
        if pending is None:
            raise
    store = Store(dialect, derive_key(pending.database, "database"))
    store.check()
    return store, pending


class Users:
    """``archive.users``: add, remove, list users, change passphrases, rotate keys."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    @property
    def _keyfile_path(self) -> Path:
        return self.vault.folder / KEYS_FILE

    def _require(self, action: str) -> None:
        role = self.vault.role
        if not may(role, action):
            raise InvalidInput(f"the {role} role may not manage users or keys")

    # -- reading --

    def list(self) -> list[dict[str, Any]]:
        """Every user: name, role, whether active, whether they hold the seal key."""
        keyfile = KeyFile.load(self._keyfile_path)
        holders = {w.holder: w for w in keyfile.wrapped}
        with self.vault.store.reading() as conn:
            rows = conn.execute(select(users_table).order_by(users_table.c.id)).all()
        return [
            {
                "name": r.name,
                "role": r.role,
                "active": bool(r.active) and r.name in holders,
                "seal_key": bool(r.name in holders and may_open_sealed(r.role)),
                "created_at": r.created_at.isoformat() if r.created_at else None,
                "created_by": r.created_by,
            }
            for r in rows
        ]

    def get(self, name: str) -> User | None:
        """An active user by name."""
        with self.vault.store.reading() as conn:
            row = conn.execute(
                select(users_table).where(users_table.c.name == name, users_table.c.active)
            ).first()
        return User(row.name, row.role) if row else None

    # -- changing --

    def add(self, name: str, role: str, passphrase: str) -> User:
        """Add a user with their own passphrase; only an admin may."""
        self._require("users")
        check_name(name)
        check_role(role)
        check_passphrase(passphrase)
        keyfile = KeyFile.load(self._keyfile_path)
        if keyfile.holder(name) is not None:
            raise InvalidInput(f"user {name!r} already exists")
        keys = self.vault.keys
        if may_open_sealed(role) and keys.seal is None:
            raise InvalidInput(
                f"a {role} needs the seal key, and {self.vault.user.name}'s copy lacks it"
            )
        copy = WrappedKey.seal(
            keys_for_role(keys, role), passphrase, name, role, self.vault.settings.kdf
        )
        with self.vault.store.transaction() as conn:
            existing = conn.execute(select(users_table).where(users_table.c.name == name)).first()
            stamp = now()
            if existing is None:
                insert_rows(
                    conn,
                    self.vault.store.dialect,
                    users_table,
                    [
                        {
                            "name": name,
                            "role": role,
                            "active": True,
                            "created_by": self.vault.user.name,
                            "created_at": stamp,
                            "updated_at": stamp,
                        }
                    ],
                )
            else:
                update_row(
                    conn,
                    users_table,
                    existing.id,
                    {"role": role, "active": True, "updated_at": stamp},
                )
            self.vault.audit.record("user_add", detail={"user": name, "role": role}, conn=conn)
            # The key copy is written last, inside the transaction: if it fails, no row.
            keyfile.replaced(copy).save()
        return User(name, role)

    def remove(self, name: str) -> None:
        """Remove a user: their key copy is deleted, their row marked inactive."""
        self._require("users")
        keyfile = KeyFile.load(self._keyfile_path)
        if keyfile.holder(name) is None:
            raise NotFound(f"there is no user {name!r}")
        admins = [w for w in keyfile.wrapped if w.role == "admin" and w.holder != name]
        if not admins:
            raise InvalidInput(f"{name!r} is the last admin: add another admin first")
        with self.vault.store.transaction() as conn:
            row = conn.execute(select(users_table).where(users_table.c.name == name)).first()
            if row is not None:
                update_row(conn, users_table, row.id, {"active": False, "updated_at": now()})
            self.vault.audit.record("user_remove", detail={"user": name}, conn=conn)
            keyfile.without(name).save()

    def passwd(self, name: str, new_passphrase: str, old_passphrase: str | None = None) -> None:
        """Change a passphrase: one's own with the old one, anyone's as an admin."""
        check_passphrase(new_passphrase)
        keyfile = KeyFile.load(self._keyfile_path)
        copy = keyfile.holder(name)
        if copy is None:
            raise NotFound(f"there is no user {name!r}")
        if name != self.vault.user.name:
            self._require("users")
            keys = keys_for_role(self.vault.keys, copy.role)
        else:
            if old_passphrase is None or not copy.check(old_passphrase):
                raise WrongPassphrase("the current passphrase is not right")
            keys = copy.open_keys(old_passphrase)[0]
        fresh = WrappedKey.seal(keys, new_passphrase, name, copy.role, self.vault.settings.kdf)
        with self.vault.store.transaction() as conn:
            self.vault.audit.record("user_passwd", detail={"user": name}, conn=conn)
            keyfile.replaced(fresh).save()

    def authenticate(self, name: str, passphrase: str) -> User | None:
        """The user when the passphrase is theirs and the archive's records agree, else None.

        Both outcomes are audited (``login`` / ``login_failed``).
        """
        keyfile = KeyFile.load(self._keyfile_path)
        copy = keyfile.holder(name)
        ok = (copy or keyfile.wrapped[0]).check(passphrase if copy else passphrase + "\0")
        user = self.get(name) if copy is not None and ok else None
        if user is not None and user.role != copy.role:  # type: ignore[union-attr]
            user = None
        self.vault.audit.record(
            "login" if user else "login_failed", detail={"user": name[:100]}, actor=name[:100]
        )
        return user

    # -- rotating the keys --

    def rotate_keys(self) -> dict[str, Any]:
        """Replace the database key and the seal master key; every copy gets the new keys.

        The steps are ordered so that a crash anywhere leaves an archive that opens:

        1. every user's copy gets the new keys as *pending* (``keys.json`` written atomically);
        2. the field keys are re-wrapped under the new seal master key, in one transaction
           (until step 4 the sealer accepts either master key);
        3. the SQLCipher database is re-keyed (``PRAGMA rekey``, one transaction in the WAL:
           before its commit the old key opens it, after it the new one);
        4. the pending keys become the current ones.

        Opening tries the current database key and then the pending one, and running the
        rotation again finishes an interrupted one.
        """
        import os

        self._require("keys")
        archive = self.vault
        keys = archive.keys
        if keys.seal is None:
            raise InvalidInput("rotating the keys needs a copy that holds the seal key")
        keyfile = KeyFile.load(self._keyfile_path)
        old_kind = [w.holder for w in keyfile.wrapped if w.version != 2]
        if old_kind:
            raise InvalidInput(
                f"these users must log in once before a rotation: {', '.join(old_kind)}"
            )
        # An interrupted rotation is finished with the keys it started.
        new = archive.pending_keys or ArchiveKeys(os.urandom(32), keys.archive, os.urandom(32))
        if archive.pending_keys is not None and archive.opened_with_pending:
            keys = archive.previous_keys or keys
        # 1. pending copies for everyone
        keyfile = KeyFile(
            keyfile.path,
            tuple(
                w.with_keys(keys_for_role(keys, w.role), keys_for_role(new, w.role))
                for w in keyfile.wrapped
            ),
        )
        keyfile.save()
        # 2. field keys under the new seal master key
        assert new.seal is not None
        with archive.store.transaction() as conn:
            rewrapped = archive.sealer.rewrap(conn, new.seal)
        # 3. the database file under the new key
        new_db_key = derive_key(new.database, "database")
        if archive.store.dialect.name == "sqlcipher":
            raw = archive.store.engine.raw_connection()
            try:
                raw.driver_connection.execute(  # type: ignore[union-attr]
                    f"PRAGMA rekey = \"x'{new_db_key.hex()}'\""
                )
            finally:
                raw.close()
        store = Store(archive.store.dialect, new_db_key)
        store.check()
        # 4. the new keys are the current ones
        KeyFile(
            keyfile.path,
            tuple(w.with_keys(keys_for_role(new, w.role)) for w in keyfile.wrapped),
        ).save()
        from sillok.store.rows import HOOKS_OPTION

        store.engine = store.engine.execution_options(**{HOOKS_OPTION: archive.hooks})
        archive.store.close()
        archive.store = store
        archive.keys = new
        archive.audit.record("keys_rotate", detail={"field_keys": rewrapped})
        return {"users": len(keyfile.wrapped), "field_keys": rewrapped}
