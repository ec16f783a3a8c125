"""The access policy: which role may see or change which field of a record, and do what.

This is the one module that decides. Every way in (the Python services, the CLI, the web pages,
the HTTP API, exports, proof bundles) asks it and applies its answer; none keeps its own list.
It is pure data and functions, with no I/O, so it can be read (and reviewed by an
organisation's security person) in one sitting.

The decision is ``role x sharing level x field -> read | change | redact``:

* every column of a record belongs to a *field class* (:data:`FIELD_CLASSES`; a column not
  listed is ``general``);
* :data:`READABLE` says which classes a role may read in a record of each sharing level;
* :data:`CHANGERS` says which roles may change records at all;
* a field that may not be read is *redacted*: replaced by :data:`REDACTED`, or for a link to a
  person by a pseudonym, never by its value and never by an error that reveals it.

Sealed fields (identities of informants and protected persons, contacts, confidential
narratives) are a storage property on top of this (see
:mod:`sillok.security.seal`): only the roles in
:data:`SEAL_ROLES` hold the key that opens them, and every opening is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sillok.model import RECORD_TABLES

ROLES: tuple[str, ...] = ("admin", "coordinator", "documenter", "reviewer", "analyst", "viewer")
"""The roles a user can have, most powerful first."""

ANONYMOUS = "anonymous"
"""The public side (a visitor with no login): sees public records only."""

SHARING_LEVELS: tuple[str, ...] = ("confidential", "internal", "public")
REDACTED = "[redacted]"
"""What a field a role may not read shows instead of its value."""

PROTECTED = "[protected]"
"""What a sealed identity shows when it is not opened."""

FIELD_CLASS_NAMES = ("general", "detail", "narrative", "identity", "contact")

#: table -> column -> field class (columns not listed are "general")
FIELD_CLASSES: dict[str, dict[str, str]] = {
    "sources": {
        "informant_id": "identity",
        "narrative": "narrative",
        "title": "narrative",
    },
    "persons": {
        "sex": "detail",
        "birth_edtf": "detail",
        "birth_lower": "detail",
        "birth_upper": "detail",
        "origin_place_id": "detail",
    },
    "person_names": {"name": "identity"},
    "person_contacts": {"value": "contact", "kind": "contact"},
    "acts": {"victim_id": "identity", "description": "narrative"},
    "events": {"title": "narrative", "description": "narrative"},
    "attachments": {
        "filename": "narrative",
        "captured_place": "detail",
        "captured_at": "detail",
    },
    "audit_events": {"detail": "detail"},
    "attachment_custody": {"origin": "detail"},
}

_ALL = frozenset(FIELD_CLASS_NAMES)
_NO_CONTACT = _ALL - {"contact"}

#: role -> sharing level -> field classes it may read. A role absent from a level's map does
#: not see records of that level at all.
READABLE: dict[str, dict[str, frozenset[str]]] = {
    "admin": {level: _ALL for level in SHARING_LEVELS},
    "documenter": {level: _ALL for level in SHARING_LEVELS},
    "reviewer": {level: _NO_CONTACT for level in SHARING_LEVELS},
    "coordinator": {
        "confidential": frozenset({"general"}),
        "internal": _NO_CONTACT,
        "public": _NO_CONTACT,
    },
    "analyst": {
        "confidential": frozenset({"general", "detail"}),
        "internal": frozenset({"general", "detail", "narrative"}),
        "public": _NO_CONTACT,
    },
    "viewer": {
        "confidential": frozenset({"general"}),
        "internal": frozenset({"general", "narrative"}),
        "public": _NO_CONTACT,
    },
    ANONYMOUS: {"public": frozenset({"general", "detail", "narrative", "identity"})},
}

SEAL_ROLES = frozenset({"admin", "documenter"})
"""Roles whose key copy includes the seal master key: they alone can open sealed fields."""

#: action -> roles allowed
ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "write": frozenset({"admin", "documenter"}),
    "import": frozenset({"admin", "documenter"}),
    "review": frozenset({"admin", "reviewer", "documenter"}),
    "statement.write": frozenset({"admin", "coordinator", "documenter"}),
    "statement.publish": frozenset({"admin", "coordinator"}),
    "export": frozenset(ROLES),
    "export.protected": frozenset({"admin"}),
    "seal.open": SEAL_ROLES,
    "seal.shred": frozenset({"admin"}),
    "proof": frozenset({"admin", "coordinator", "documenter", "reviewer"}),
    "attachment.add": frozenset({"admin", "documenter"}),
    "attachment.get": frozenset({"admin", "coordinator", "documenter", "reviewer"}),
    "audit.read": frozenset({"admin"}),
    "users": frozenset({"admin"}),
    "keys": frozenset({"admin"}),
    "backup": frozenset({"admin"}),
    "verify": frozenset(ROLES),
}

CHANGERS = ACTIONS["write"]
"""Roles that may change records (and so every field they may read)."""


@dataclass(frozen=True)
class User:
    """A user: name and role."""

    name: str
    role: str


class Access(StrEnum):
    """What a role may do with one field of one record."""

    CHANGE = "change"
    READ = "read"
    REDACT = "redact"


def _known_role(role: str) -> str:
    if role not in READABLE:
        raise ValueError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return role


def field_class(table: str, column: str) -> str:
    """The class of a column (``general`` unless listed in :data:`FIELD_CLASSES`)."""
    return FIELD_CLASSES.get(table, {}).get(column, "general")


def redactable(table: str) -> frozenset[str]:
    """Columns of ``table`` that some role, at some sharing level, may not read.

    The Merkle log commits to these columns one by one (salted), so a proof bundle can leave
    them out and still verify.
    """
    return frozenset(c for c, cls in FIELD_CLASSES.get(table, {}).items() if cls != "general")


def may_see(role: str, sharing: str | None) -> bool:
    """Whether ``role`` sees records of this sharing level at all."""
    return (sharing or "internal") in READABLE[_known_role(role)]


def access(role: str, sharing: str | None, table: str, column: str) -> Access:
    """What ``role`` may do with ``column`` of a ``table`` row at sharing level ``sharing``."""
    readable = READABLE[_known_role(role)].get(sharing or "internal")
    if readable is None or field_class(table, column) not in readable:
        return Access.REDACT
    return Access.CHANGE if role in CHANGERS else Access.READ


def may(role: str, action: str, kind: str | None = None) -> bool:
    """Whether ``role`` may do ``action`` (``kind`` is accepted for record-specific rules)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return role in ACTIONS[action]


def may_get_evidence(role: str, sharing: str | None) -> bool:
    """Whether ``role`` may open the evidence files (and see the SHA-256) of a record at this
    sharing level (review C6).

    Evidence is read like the record's text: the role must hold ``attachment.get`` and read
    the *narrative* class at that level. The text of a confidential record is sealed
    (:mod:`sillok.security.seal`), so at the confidential level only the roles that open
    sealed fields qualify: coordinators and reviewers do not get the evidence of a
    confidential act whose description they cannot read.
    """
    level = sharing or "internal"
    readable = READABLE[_known_role(role)].get(level)
    if not may(role, "attachment.get") or readable is None or "narrative" not in readable:
        return False
    return level != "confidential" or may_open_sealed(role)


def may_open_sealed(role: str) -> bool:
    """Whether ``role`` holds the key that opens sealed fields."""
    return role in SEAL_ROLES


Pseudonym = Callable[[str, int], str]
"""Gives a stable stand-in for a linked record: (table, id) -> text."""


def redact_row(
    role: str,
    table: str,
    row: Mapping[str, Any],
    sharing: str | None = None,
    pseudonym: Pseudonym | None = None,
) -> dict[str, Any]:
    """A copy of ``row`` (column -> value) with every field ``role`` may not read redacted.

    The sharing level is the row's own ``sharing`` column unless given. Links to persons
    (``victim_id``, ``informant_id``) become a pseudonym when ``pseudonym`` is given, so that
    records about the same person can still be told apart; everything else becomes
    :data:`REDACTED`. ``None`` stays ``None`` (an absent value reveals nothing).
    """
    level = sharing if sharing is not None else row.get("sharing")
    out = dict(row)
    for column, value in row.items():
        if value is None or access(role, level, table, column) is not Access.REDACT:
            continue
        if pseudonym is not None and column in ("victim_id", "informant_id"):
            out[column] = pseudonym("persons", int(value))
        else:
            out[column] = REDACTED
    return out


def redact(role: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Redact a record shown by kind (``act``, ``person``...), its own sharing level applying."""
    table = RECORD_TABLES[kind].name if kind in RECORD_TABLES else kind
    return redact_row(role, table, data)


def may_see_sharing(role: str, sharing: str) -> bool:
    """Alias of :func:`may_see` (the name the web layer asks with)."""
    return may_see(role, sharing)
