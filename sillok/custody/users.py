"""Users: who may open the archive, with which role; logging in.

A user is a holder of a copy of the archive's keys in ``keys.json`` (see
:mod:`sillok.security.keys`)
and a row of the ``users`` table. The table, inside the encrypted database and covered by the
Merkle log, is what says which role a user has: ``keys.json`` lies in the folder in the clear,
so a role written there only counts when the table agrees. Removing a user deletes their copy
of the keys; rotating the keys afterwards (``sillok keys rotate``) makes any copy they kept
useless for the database as it is from then on (:mod:`sillok.custody.rotation`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok.custody.rotation import rotate_keys
from sillok.errors import InvalidInput, NotFound, WrongPassphrase
from sillok.folder import KEYS_FILE
from sillok.messages import Message, Words
from sillok.security.keyfile import KeyFile, WrappedKey, remembering_locators
from sillok.security.keys import KEY_FILE, keys_for_role
from sillok.security.passphrases import check_strength
from sillok.security.policy import ROLES, User, may, may_open_sealed
from sillok.store import users as store_users

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
        raise InvalidInput(Message(
            "role {value!r} is not one of {choices}", value=role, choices=Words(ROLES)
        ))
    return role


def check_passphrase(passphrase: str, known: Sequence[str] = ()) -> str:
    """A passphrase long enough and hard enough to guess (zxcvbn, as at init), or
    :class:`InvalidInput` saying why (which never repeats it).

    Args:
        known: words an attacker would try first (the user's name, the archive's folder).
    """
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise InvalidInput(
            Message("a passphrase needs at least {n} characters", n=MIN_PASSPHRASE)
        )
    return check_strength(passphrase, known)


@dataclass(frozen=True)
class RoleChange:
    """A user's new role, the one it replaced, and the purpose keys the old role's copy held
    that the new one does not (a copy the user kept still holds them until a rotation)."""

    name: str
    role: str
    was: str
    keys_lost: frozenset[str]

    @property
    def rotate(self) -> bool:
        """Whether ``sillok keys rotate`` should follow, as after a removal."""
        return bool(self.keys_lost)


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

    @remembering_locators
    def list(self) -> list[dict[str, Any]]:
        """Every user: name, role, whether active, whether they hold the seal key.

        An administrator reads who holds a key copy from the copies' cards; another role
        finds each user's copy by name (keys.json names nobody in the clear).
        """
        keyfile = KeyFile.load(self._keyfile_path)
        with self.vault.store.reading() as conn:
            rows = store_users.all_users(conn)
        if keyfile.format == 1 or self.vault.keys.get(KEY_FILE) is not None:
            if keyfile.format == 2:
                keyfile = keyfile.named(self.vault.key_for(KEY_FILE))
            holders = {w.holder for w in keyfile.wrapped}
        else:
            holders = {r.name for r in rows if r.active and keyfile.holder(r.name) is not None}
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
            row = store_users.active_user(conn, name)
        return User(row.name, row.role) if row else None

    # -- changing --

    @remembering_locators
    def add(self, name: str, role: str, passphrase: str) -> User:
        """Add a user with their own passphrase; only an admin may."""
        self._require("users")
        check_name(name)
        check_role(role)
        check_passphrase(passphrase, (name, self.vault.folder.name))
        keyfile = self._checked_keyfile()
        if keyfile.holder(name) is not None:
            raise InvalidInput(f"user {name!r} already exists")
        keys = self.vault.keys
        if may_open_sealed(role) and keys.seal is None:
            raise InvalidInput(
                f"a {role} needs the seal key, and {self.vault.user.name}'s copy lacks it"
            )
        copy = WrappedKey.seal(
            keys.for_role(role), passphrase, name, role, self.vault.settings.kdf,
            keyfile.locate(name),
        ).authenticated(self.vault.key_for(KEY_FILE))
        with self.vault.store.transaction() as conn:
            existing = store_users.user_named(conn, name)
            if existing is None:
                store_users.add_users(
                    conn, self.vault.store.dialect, [(name, role)], self.vault.user.name
                )
            else:
                store_users.reactivate_user(conn, existing.id, role)
            # the user's author key, registered by this administrator's signed write
            detail = {"user": name, "role": role, "author": copy.author}
            self.vault.audit.record("user_add", detail=detail, conn=conn)
            # The key copy is written last, inside the transaction: if it fails, no row.
            keyfile.replaced(copy).save()
        return User(name, role)

    @remembering_locators
    def set_role(self, name: str, role: str, passphrase: str) -> RoleChange:
        """Give an active user another role; only an admin may.

        The user's copy of the keys is made anew for the role (a viewer's copy holds no seal
        key, an admin's does), sealed with ``passphrase``, which the administrator types for
        them: nobody but the user can open their old copy. It is written and audited as
        ``user_add`` with the new role (registering the copy's author key) and the role it
        replaces; their sessions end, as with any change of their copy.

        A lower role's copy lacks keys the old one held, but a copy the user kept of the old
        one still holds them, as a removed user's would: the change says which
        (:attr:`RoleChange.keys_lost`), and ``sillok keys rotate`` replaces them.
        """
        self._require("users")
        check_role(role)
        check_passphrase(passphrase, (name, self.vault.folder.name))
        keyfile = self._checked_keyfile()
        old = keyfile.holder(name)
        if old is None:
            raise NotFound(f"there is no user {name!r}")
        if old.role == role:
            raise InvalidInput(f"user {name!r} already has the {role} role")
        if old.role == "admin" and not any(
            w.role == "admin" and w.holder != name for w in keyfile.wrapped
        ):
            raise InvalidInput(f"{name!r} is the last admin: add another admin first")
        keys = self.vault.keys
        if may_open_sealed(role) and keys.seal is None:
            raise InvalidInput(
                f"a {role} needs the seal key, and {self.vault.user.name}'s copy lacks it"
            )
        copy = WrappedKey.seal(
            keys.for_role(role),
            passphrase,
            name,
            role,
            self.vault.settings.kdf,
            keyfile.locate(name),
        ).authenticated(self.vault.key_for(KEY_FILE))
        with self.vault.store.transaction() as conn:
            row = store_users.user_named(conn, name)
            if row is None:
                raise NotFound(f"there is no user {name!r}")
            store_users.reactivate_user(conn, row.id, role)
            detail = {"user": name, "role": role, "author": copy.author, "was": old.role}
            self.vault.audit.record("user_add", detail=detail, conn=conn)
            keyfile.replaced(copy).save()
        return RoleChange(name, role, old.role, keys_for_role(old.role) - keys_for_role(role))

    @remembering_locators
    def remove(self, name: str) -> None:
        """Remove a user: their key copy is deleted, their row marked inactive."""
        self._require("users")
        keyfile = self._checked_keyfile()
        if keyfile.holder(name) is None:
            raise NotFound(Message("there is no user {name!r}", name=name))
        admins = [w for w in keyfile.wrapped if w.role == "admin" and w.holder != name]
        if not admins:
            raise InvalidInput(f"{name!r} is the last admin: add another admin first")
        with self.vault.store.transaction() as conn:
            row = store_users.user_named(conn, name)
            if row is not None:
                store_users.deactivate_user(conn, row.id)
            self.vault.audit.record("user_remove", detail={"user": name}, conn=conn)
            keyfile.without(name).save()

    @remembering_locators
    def passwd(self, name: str, new_passphrase: str, old_passphrase: str | None = None) -> None:
        """Change a passphrase: one's own with the old one, anyone's as an admin."""
        check_passphrase(new_passphrase, (name, self.vault.folder.name))
        keyfile = KeyFile.load(self._keyfile_path)
        copy = keyfile.holder(name)
        if copy is None:
            raise NotFound(Message("there is no user {name!r}", name=name))
        kdf = self.vault.settings.kdf
        if name != self.vault.user.name:
            self._require("users")
            keyfile = self._checked_keyfile()
            copy = keyfile.holder(name) or copy
            keys = self.vault.keys.for_role(copy.role)
            fresh = WrappedKey.seal(
                keys, new_passphrase, name, copy.role, kdf, keyfile.locate(name)
            ).authenticated(self.vault.key_for(KEY_FILE))
        else:
            if old_passphrase is None or not copy.check(old_passphrase):
                raise WrongPassphrase("the current passphrase is not right")
            # the same key pair: the entry stays as an administrator authenticated it
            fresh = copy.with_new_passphrase(old_passphrase, new_passphrase, kdf)
        detail = {"user": name}
        if fresh.author != copy.author:  # a new key pair: its author key is registered
            detail.update(role=copy.role, author=fresh.author)
        with self.vault.store.transaction() as conn:
            self.vault.audit.record("user_passwd", detail=detail, conn=conn)
            keyfile.replaced(fresh).save()

    def _checked_keyfile(self) -> KeyFile:
        """keys.json with every entry's name and role, once every entry is checked as an
        administrator made it (before anything is sealed to one: a public key put in
        another's entry obtains nothing).

        Raises:
            InvalidInput: the file is still of format 1 (names in the clear), which an
                administrator's open converts unless a copy from before users exists.
        """
        keyfile = KeyFile.load(self._keyfile_path)
        key = self.vault.key_for(KEY_FILE)
        keyfile.check_entries(key)
        if keyfile.format == 1:
            old = ", ".join(w.holder for w in keyfile.wrapped if w.version == 1)
            raise InvalidInput(
                "keys.json is of the old format (user names in the clear): "
                + (f"these users must log in once first: {old}" if old else "open it again")
            )
        return keyfile.named(key)

    @remembering_locators
    def authenticate(self, name: str, passphrase: str) -> User | None:
        """The user when the passphrase is theirs and the archive's records agree, else None.

        Both outcomes are audited (``login`` / ``login_failed``).
        """
        keyfile = KeyFile.load(self._keyfile_path)
        try:
            copy = keyfile.unlock_holder(passphrase, name)[0]
        except WrongPassphrase:
            copy = None
        user = self.get(name) if copy is not None else None
        if user is not None and copy is not None and user.role != copy.role:
            user = None
        self.vault.audit.record(
            "login" if user else "login_failed", detail={"user": name[:100]}, actor=name[:100]
        )
        return user

    def rotate_keys(self) -> dict[str, Any]:
        """Replace the database key and the seal master key; every copy gets the new keys.

        See :func:`sillok.custody.rotation.rotate_keys`.
        """
        return rotate_keys(self.vault)
