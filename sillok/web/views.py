"""What a principal sees: records, history, dashboard counts (search: :mod:`sillok.web.found`).

Pages and the API render the same data from these functions (one URL, two formats). Each
takes the archive's services, asks :mod:`sillok.web.access` what the principal may see, and
returns plain dictionaries and dataclasses: redacted fields are replaced before they leave
this module, so no template or JSON encoder ever holds a value it must not show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.dates.words import human_date
from sillok.errors import NotFound
from sillok.messages import no_such
from sillok.web.access import (
    REDACTED,
    Principal,
    may_see,
    refused,
    sealed,
    sharing_of,
    shown,
)
from sillok.web.i18n import PLACED, WORDS, local_names, local_title, translator

if TYPE_CHECKING:
    from sillok.archive import Archive

RECORD_KINDS = ("source", "event", "act", "person", "place", "organization")
_BOOKKEEPING = {"id", "version", "created_by", "created_at", "updated_by", "updated_at"}
#: how many linked records a record page lists (the API and search reach the rest)
LIST_LIMIT = 50


def label(by: str, key: Any, archive: Archive, lang: str) -> str:
    """The name of a grouping key (act type, province...) in the page's language."""
    if key in (None, "unknown"):
        return translator(lang)("unknown")
    if by == "act_type" or by == "facility":
        name = "act_types" if by == "act_type" else "facility_types"
        term = vocab.load(name).lookup(str(key))
        return term.label(lang) if term else str(key)
    if by in ("province", "agency"):
        directory = archive.places if by == "province" else archive.organizations
        entry = directory.resolve(str(key))
        if entry is None:
            return str(key)
        return (entry.name_ko if lang == "ko" else entry.name_en) or entry.label
    if by == "year" and key == "uncertain":
        return "여러 해에 걸침" if lang == "ko" else "spans several years"
    return str(key)


# --- records --------------------------------------------------------------------------------


@dataclass
class RecordView:
    """One record as a principal may see it."""

    kind: str
    id: int
    data: dict[str, Any]
    links: dict[str, tuple[str, int]] = field(default_factory=dict)
    lists: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    redacted: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the same fields the page shows)."""
        return {
            "kind": self.kind,
            "id": self.id,
            "data": self.data,
            "links": {k: {"kind": v[0], "id": v[1]} for k, v in self.links.items()},
            "lists": {
                k: [{"kind": kind, "id": rid, "title": title} for kind, rid, title in v]
                for k, v in self.lists.items()
            },
            "redacted": self.redacted,
            "protected": self.protected,
        }


_LINKS = {
    "act": {
        "event_id": "event",
        "victim_id": "person",
        "place_id": "place",
        "facility_id": "place",
    },
    "person": {"origin_place_id": "place"},
    "event": {"place_id": "place"},
    "place": {"parent_id": "place"},
}


def visible_ids(archive: Archive, principal: Principal, kind: str, ids: Sequence[int]) -> list[int]:
    """The ids among ``ids`` whose records the principal may see, in the same order (the
    records service decides, for the archive the principal opened with their passphrase)."""
    del principal  # the archive already acts for them
    return archive.records.visible(kind, ids)


def record_view(
    archive: Archive,
    principal: Principal,
    kind: str,
    record_id: int,
    reveal: bool = False,
    lang: str = "en",
) -> RecordView:
    """A record for a page or the API; with ``reveal``, sealed fields the role may open are
    opened (and the archive audits each opening).

    Raises:
        NotFound: when the record does not exist *or* the principal may not see it: the two
            are not told apart, so a refusal does not reveal that a record exists.
    """
    if kind not in RECORD_KINDS:
        raise NotFound(f"unknown record kind {kind!r} (one of {', '.join(RECORD_KINDS)})")
    data = archive.records.show(kind, record_id, reveal=reveal)
    if not may_see(principal, sharing_of(kind, data)):
        raise NotFound(no_such(kind, record_id))
    view = RecordView(kind, record_id, shown(principal, kind, data))
    view.redacted = sorted(k for k, v in view.data.items() if refused(v))
    view.protected = sorted(
        k for k, v in view.data.items() if sealed(v) and _opened(view.data, k) is None
    )
    for column, target in _LINKS.get(kind, {}).items():
        value = data.get(column)
        if isinstance(value, int) and column not in view.redacted:
            view.links[column] = (target, value)
    if kind == "act" and "victim_id" in view.links and "victim" in view.redacted:
        del view.links["victim_id"]  # the link would lead to the name the role may not read
    lists: dict[str, tuple[str, list[int]]] = {}
    if kind == "act":
        lists["sources"] = ("source", list(data.get("sources") or []))
    if kind in ("person", "event", "source"):
        lists["acts"] = ("act", list(data.get("acts") or []))
    for name, (target, ids) in lists.items():
        # which of them the role may see and their titles, from one read of their rows
        listed = archive.records.visible_titles(target, ids, lang, LIST_LIMIT)
        view.data[name] = [i for i, _title in listed]
        view.lists[name] = [
            (target, i, local_title(target, title, lang) if title is not None else f"{target} {i}")
            for i, title in listed
        ]
    return view


#: sealed columns whose opened value the records service gives under another key
#: (a source's informant is a person: the column holds their id, the opening their name)
_OPENED_AS = {"informant_id": "informant"}


def _opened(data: Mapping[str, Any], key: str) -> Any:
    """The opened value of a sealed column, when the record was revealed and the role may read
    it; None while it stays closed (or refused)."""
    value = data.get(_OPENED_AS.get(key, ""))
    if value is None or sealed(value) or refused(value):
        return None
    return value


def record_titles(
    archive: Archive, principal: Principal, hits: Sequence[tuple[str, int]], lang: str
) -> dict[tuple[str, int], str]:
    """One-line titles in ``lang``; the records service leaves out what the archive's role
    may not read (the archive is the principal's own, opened with their passphrase)."""
    del principal  # the archive already acts for them
    return {
        hit: local_title(hit[0], title, lang)
        for hit, title in archive.records.titles(hits, lang).items()
    }


@dataclass(frozen=True)
class Field:
    """One line of a record page: a label key, what to show, where it links, if refused."""

    key: str
    value: Any
    link: tuple[str, int] | None = None
    redacted: bool = False


#: kind -> (label key, shown key, link column) in the order a page shows them
_DISPLAY: dict[str, list[tuple[str, str, str | None]]] = {
    "act": [
        ("act_type", "act_type_label", None),
        ("date", "date_edtf", None),
        ("victim", "victim", "victim_id"),
        ("place", "place", "place_id"),
        ("facility", "facility", "facility_id"),
        ("facility_type", "facility_type", None),
        ("perpetrators", "perpetrators", None),
        ("event", "event", "event_id"),
        ("description", "description", None),
        ("legal_refs", "legal_refs", None),
        ("sharing", "sharing", None),
    ],
    "source": [
        ("source_type", "source_type", None),
        ("date", "date_edtf", None),
        ("informant_id", "informant_id", None),
        ("language", "language", None),
        ("title", "title", None),
        ("narrative", "narrative", None),
        ("reliability", "reliability", None),
        ("sharing", "sharing", None),
    ],
    "event": [
        ("title", "title", None),
        ("date", "date_edtf", None),
        ("place", "place_id", "place_id"),
        ("description", "description", None),
        ("sharing", "sharing", None),
    ],
    "person": [
        ("names", "names", None),
        ("sex", "sex", None),
        ("birth_edtf", "birth_edtf", None),
        ("origin", "origin", "origin_place_id"),
        ("status", "status", None),
        ("protected", "protected", None),
    ],
    "place": [
        ("name_ko", "name_ko", None),
        ("name_en", "name_en", None),
        ("kind", "kind", None),
        ("within", "within", "parent_id"),
        ("facility_type", "facility_type", None),
        ("aliases", "aliases", None),
        ("unverified", "unverified", None),
    ],
    "organization": [
        ("name_ko", "name_ko", None),
        ("name_en", "name_en", None),
        ("kind", "kind", None),
        ("aliases", "aliases", None),
        ("unverified", "unverified", None),
    ],
}


def display_fields(view: RecordView, archive: Archive, lang: str) -> list[Field]:
    """The lines of a record page in reading order, with names and labels in ``lang``."""
    data = view.data
    shown_fields = []
    for label_key, key, link_column in _DISPLAY.get(view.kind, []):
        value = data.get(key)
        if _opened(data, key) is not None:
            value = _opened(data, key)
        elif key == "act_type_label" and isinstance(value, Mapping):
            value = value.get(lang) or value.get("en")
        elif key == "facility_type" and value and value != REDACTED:
            value = label("facility", value, archive, lang)
        elif key == "perpetrators" and isinstance(value, list):
            value = [
                " · ".join(
                    local_names(str(p[k]), lang, archive)
                    for k in ("organization", "person")
                    if p.get(k)
                )
                + (
                    f" ({translator(lang)(str(p['role']))})"
                    if p.get("role") and p["role"] != "perpetrator"
                    else ""
                )
                for p in value
                if isinstance(p, Mapping)
            ]
        elif key in WORDS and isinstance(value, str):
            value = translator(lang)(value)
        elif key == "names" and isinstance(value, list):
            value = [n["name"] if isinstance(n, Mapping) else str(n) for n in value]
        elif key == "aliases" and isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        elif key in ("date_edtf", "birth_edtf") and isinstance(value, str):
            reading = human_date(value, lang)
            value = f"{reading} ({value})" if reading and reading != value else value
        elif key == "place_id" and isinstance(value, int):
            entry = archive.places.get(value)
            value = entry.label if entry else value
        link = view.links.get(link_column) if link_column else None
        if link_column == "parent_id" and isinstance(data.get("parent_id"), int):
            link = ("place", data["parent_id"])
        value = local_names(value, lang, archive) if key in PLACED else value
        shown_fields.append(Field(label_key, value, link, refused(value) or sealed(value)))
    return shown_fields


def heading(view: RecordView, lang: str) -> str:
    """A one-line name for a record page."""
    data = view.data
    if view.kind == "act":
        labels = data.get("act_type_label")
        name = labels.get(lang) if isinstance(labels, Mapping) else data.get("act_type")
        date = data.get("date_edtf")
        shown = human_date(date, lang) if isinstance(date, str) else None
        return " · ".join(str(p) for p in (name, shown or date) if p)
    names = [n.get("name") for n in data.get("names") or [] if isinstance(n, Mapping)]
    if view.kind == "person" and names and not refused(names[0]):  # a name, not a ref
        return " · ".join(str(n) for n in names[:2])
    for key in ("title", "name_ko" if lang == "ko" else "name_en", "name_en", "ref"):
        value = data.get(key)
        if value and value != REDACTED:
            return str(value)
    return ""


@dataclass
class Version:
    """One version of a record with what changed since the one before."""

    number: int
    by: str
    at: str
    data: dict[str, Any]
    changed: list[str]

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "version": self.number,
            "by": self.by,
            "at": self.at,
            "changed": self.changed,
            "data": self.data,
        }


def history_view(
    archive: Archive, principal: Principal, kind: str, record_id: int
) -> list[Version]:
    """Every version of a record (newest last), each redacted, with the fields that changed."""
    if kind not in (*RECORD_KINDS, "statement"):
        raise NotFound(f"unknown record kind {kind!r}")
    versions = archive.records.history(kind, record_id)
    if kind != "statement" and not may_see(principal, sharing_of(kind, versions[-1])):
        raise NotFound(no_such(kind, record_id))
    result: list[Version] = []
    previous: dict[str, Any] = {}
    for raw in versions:
        plain = {k: v for k, v in raw.items() if not k.startswith("_")}
        seen = shown(principal, kind, plain)
        changed = (
            sorted(
                k
                for k in plain
                if k not in _BOOKKEEPING and previous.get(k) != plain.get(k) and seen[k] != REDACTED
            )
            if previous
            else []
        )
        redacted_changed = previous and any(
            previous.get(k) != plain.get(k) and seen[k] == REDACTED for k in plain
        )
        if redacted_changed:
            changed.append(REDACTED)
        result.append(
            Version(
                number=int(plain.get("version", len(result) + 1)),
                by=str(plain.get("updated_by", "")),
                at=str(plain.get("updated_at", "")),
                data={k: v for k, v in seen.items() if k not in _BOOKKEEPING},
                changed=changed,
            )
        )
        previous = plain
    return result


# --- dashboard ------------------------------------------------------------------------------


def dashboard_counts(archive: Archive) -> dict[str, Any]:
    """Archive totals and act counts by type, year, province and facility type."""
    return {
        "totals": archive.stats.archive_counts(),
        "act_type": archive.stats.count("act_type"),
        "year": archive.stats.count("year"),
        "province": archive.stats.count("province"),
        "facility": archive.stats.count("facility"),
    }


def relabel(
    rows: Sequence[Mapping[str, Any]], by: str, key: str, archive: Archive, lang: str
) -> list[dict[str, Any]]:
    """Count rows with their labels in the page's language."""
    return [{**r, "label": label(by, r[key], archive, lang)} for r in rows]
