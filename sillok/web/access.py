"""Who is asking, and the one seam through which the web layer asks the access policy.

Every decision (may this principal do X; which fields of this record may it read) is made by
:mod:`sillok.security.policy`, the same module the CLI uses. This module only adapts the web's
principal (a logged-in user, an API token, or an anonymous visitor) to it, and applies its
answers to the shapes the pages render: besides a record's own columns, a record page shows
values *derived* from other columns (the victim's name from ``victim_id``, a person's names
from ``person_names``), and each of those is redacted exactly when its source column is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sillok.model import RECORD_TABLES
from sillok.security import policy

ANONYMOUS = policy.ANONYMOUS
REDACTED = policy.REDACTED

#: kind -> shown key -> (table, column) whose field class decides whether it is shown
DERIVED: dict[str, dict[str, tuple[str, str]]] = {
    "act": {"event": ("events", "title")},
    "person": {"origin": ("persons", "origin_place_id")},
}
#: shown keys the records service itself redacts (a pseudonym or a marker for a person the
#: role may not identify, ``[protected]`` for a sealed name): left as it gives them
DECIDED_BY_RECORDS = frozenset({"victim", "victim_names", "names", "informant", "informant_id"})
_PSEUDONYM = re.compile(r"^[a-z_]+-[0-9a-f]{8}$")
#: shown keys that are not columns and hold nothing a role could be refused: vocabulary labels,
#: place names, lists of linked ids (each linked record is checked on its own)
SAFE_DERIVED = frozenset(
    {"kind", "act_type_label", "legal_refs", "place", "facility", "sources", "acts", "within"}
)
#: kinds with no sharing level of their own: the directory of places and organizations
DIRECTORY_KINDS = ("place", "organization")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    username: str | None
    role: str | None

    @property
    def authenticated(self) -> bool:
        """Whether this is a logged-in user (or a program with a token)."""
        return self.username is not None and self.role is not None

    @property
    def policy_role(self) -> str:
        """The role the policy is asked about (``anonymous`` for a visitor)."""
        return self.role if self.authenticated and self.role else ANONYMOUS

    @property
    def actor(self) -> str:
        """The name recorded as the author of changes."""
        return self.username or ANONYMOUS


NOBODY = Principal(None, None)


def sharing_of(kind: str, data: Mapping[str, Any] | Any) -> str:
    """The sharing level that governs a record (the directory is public)."""
    if kind in DIRECTORY_KINDS:
        return "public"
    return str(data.get("sharing") or "internal")


def may(principal: Principal, action: str, kind: str | None = None) -> bool:
    """Whether the principal may do ``action`` (on records of ``kind``)."""
    if not principal.authenticated:
        return False
    return policy.may(principal.policy_role, action, kind)


def may_see(principal: Principal, sharing: str | None) -> bool:
    """Whether the principal may see a record of this sharing level at all."""
    return policy.may_see(principal.policy_role, sharing or "internal")


def readable(principal: Principal, sharing: str, table: str, column: str) -> bool:
    """Whether the principal may read one field at a sharing level."""
    decision = policy.access(principal.policy_role, sharing, table, column)
    return decision is not policy.Access.REDACT


def shown(principal: Principal, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a record's data with every field the principal may not read redacted."""
    level = sharing_of(kind, data)
    table = RECORD_TABLES[kind].name if kind in RECORD_TABLES else kind
    out = policy.redact_row(principal.policy_role, table, data, sharing=level)
    derived = DERIVED.get(kind, {})
    columns = set(RECORD_TABLES[kind].c.keys()) if kind in RECORD_TABLES else set()
    for key in data:
        if (
            key in columns
            or key in SAFE_DERIVED
            or key in DECIDED_BY_RECORDS
            or key == "perpetrators"
            or out[key] is None
        ):
            continue
        # A shown value the policy does not know (one a later version of the records service
        # adds) is treated as an identity until it is listed: shown too little, never too much.
        source_table, column = derived.get(key, ("person_names", "name"))
        if not readable(principal, level, source_table, column):
            out[key] = REDACTED
    perpetrators = out.get("perpetrators")
    if isinstance(perpetrators, list) and not readable(principal, level, "person_names", "name"):
        out["perpetrators"] = [
            {**p, "person": REDACTED if p.get("person") else None} if isinstance(p, dict) else p
            for p in perpetrators
        ]
    return out


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def refused(value: Any) -> bool:
    """Whether a shown value stands in for one the principal's role may not read."""
    value = _single(value)
    return isinstance(value, str) and (value == REDACTED or _PSEUDONYM.match(value) is not None)


def sealed(value: Any) -> bool:
    """Whether a shown value is a sealed one left closed (``[protected]``)."""
    return _single(value) == policy.PROTECTED
