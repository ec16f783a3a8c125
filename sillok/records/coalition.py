"""The coalition: the member organizations an archive's statements and news are posted for.

A coalition posts news *on its members*: each item names the member that issued it, and that
member must be one of the archive's list of members. The list is the archive's own (kept in the
archive, not in a setting of one session), set by a role with ``statement.publish``: who speaks
for the coalition is the publisher's to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from sillok.errors import InvalidInput
from sillok.messages import Message
from sillok.security.policy import may
from sillok.store import statements as store

if TYPE_CHECKING:
    from sillok.vault import Vault


class PublishRightNeeded(InvalidInput):
    """A change only a role with the publish right may make, asked by one without it."""


@dataclass(frozen=True)
class Member:
    """A coalition member: an organization of the archive's directory."""

    id: int
    name: str
    unverified: bool

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"id": self.id, "name": self.name, "unverified": self.unverified}


def organization_ids(vault: Vault, conn: Connection, names: Sequence[str], actor: str) -> list[int]:
    """The organization ids of names, in order; a name the archive does not know is added as an
    unverified organization (an NGO), as imports do, so a group's own spelling is never refused.
    """
    directory = vault.organizations
    ids = []
    for name in (str(n).strip() for n in names if str(n).strip()):
        entry = directory.resolve(name)
        if entry is None:
            entry = directory.add_unverified(conn, vault.store.dialect, name, actor, "ngo")
        ids.append(entry.id)
    return ids


def member_id(vault: Vault, conn: Connection, name: str | None) -> int | None:
    """The organization id of the coalition member named by any of its names or by its label
    (None for none).

    Raises:
        InvalidInput: naming the value, when it names no member.
    """
    if name is None or not str(name).strip():
        return None
    name = str(name).strip()
    ids = store.member_ids(conn)
    members = [e for e in (vault.organizations.get(i) for i in ids) if e is not None]
    for member in members:
        if name == member.label:  # as the pages show it: "English (한국어)"
            return member.id
    entry = vault.organizations.resolve(name)
    if entry is None or entry.id not in ids:
        known = [e.label for e in members]
        listed = f" ({'; '.join(known)})" if known else Message(" (none are set)")
        raise InvalidInput(Message(
            "member: {name!r} is not one of the coalition's members{listed}",
            name=name, listed=listed,
        ))
    return entry.id


class Coalition:
    """The archive's list of coalition members (``Coalition(vault)``)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def members(self) -> list[Member]:
        """The member organizations, in the order they were set."""
        with self.vault.store.reading() as conn:
            ids = store.member_ids(conn)
        found = (self.vault.organizations.get(i) for i in ids)
        return [Member(e.id, e.label, e.unverified) for e in found if e is not None]

    def set(self, names: Sequence[str], actor: str | None = None) -> list[Member]:
        """Replace the member organizations, each given by any of its names (an unknown name is
        added as an unverified organization).

        Raises:
            PublishRightNeeded: for a role without ``statement.publish``.
        """
        role = self.vault.role
        if not may(role, "statement.publish"):
            raise PublishRightNeeded(
                f"the {role} role may not set the coalition's members (statement.publish)"
            )
        with self.vault.store.transaction() as conn:
            ids = organization_ids(self.vault, conn, names, actor or self.vault.settings.actor)
            store.set_member_ids(conn, ids)
            # the list lives in archive_meta, outside the log: its changes are audited (and the
            # audit trail is in the log)
            self.vault.audit.record("coalition_members", conn=conn, detail={"members": ids})
        return self.members()
