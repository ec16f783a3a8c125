"""Reading records: one record in full with what it refers to resolved, titles, history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.dates.words import human_date
from sillok.errors import NotFound
from sillok.ledger.entries import is_withheld
from sillok.messages import Message, no_such
from sillok.model import RECORD_TABLES
from sillok.security.policy import PROTECTED, REDACTED, Access, access, may_see
from sillok.security.seal import is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows

if TYPE_CHECKING:
    from sillok.vault import Vault

#: how many linked records ``show`` lists at most
SHOW_LIMIT = 100


def _kind(kind: str) -> str:
    kind = kind.lower().rstrip("s") if kind.lower() not in RECORD_TABLES else kind.lower()
    if kind not in RECORD_TABLES:
        raise NotFound(f"unknown record kind {kind!r} (one of {', '.join(RECORD_TABLES)})")
    return kind


def _name(entry: Any, lang: str | None) -> str:
    """A place's or an organization's name in ``lang`` (its bilingual label without one)."""
    if lang == "ko":
        return str(entry.name_ko or entry.label)
    if lang == "en":
        return str(entry.name_en or entry.label)
    return str(entry.label)


def _date(row: Any, prefix: str) -> str | None:
    value: str | None = getattr(row, f"{prefix}_edtf", None)
    return value


class RecordBook:
    """Records of an archive, read for people."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.act_types = vocab.load("act_types")
        self.facility_types = vocab.load("facility_types")

    def act_type_label(self, key: str, lang: str = "en") -> str:
        """The label of an act type key."""
        try:
            return self.act_types.get(key).label(lang)
        except KeyError:
            return key

    def person_name(self, names: Sequence[tuple[str, str, str]], protected: bool) -> str:
        """How a person is shown: their first names in each script, or a redaction marker."""
        if protected:
            return "[protected]"
        hangul = next((n for n, s, _k in names if s == "Hang"), None)
        latin = next((n for n, s, _k in names if s == "Latn"), None)
        if hangul and latin:
            return f"{latin} ({hangul})"
        return hangul or latin or "[unnamed]"

    def _victim_label(
        self,
        conn: Any,
        act: Any,
        names: Sequence[tuple[str, str, str]],
        victim: Any,
        reveal: bool = False,
    ) -> str:
        """The victim of an act as the role may see it: a name, a pseudonym or a marker."""
        role = self.vault.role
        if access(role, act.sharing, "acts", "victim_id") is Access.REDACT:
            return self.vault.disclosure.pseudonym("persons", act.victim_id)
        if victim is not None and victim.protected:
            return self._protected_name(conn, act.victim_id, reveal)
        if access(role, act.sharing, "person_names", "name") is Access.REDACT:
            return self.vault.disclosure.pseudonym("persons", act.victim_id)
        return self.person_name(names, False)

    def _protected_name(self, conn: Any, person_id: int, reveal: bool) -> str:
        """A protected person's name: opened (and audited) only when asked and allowed."""
        if not reveal:
            return PROTECTED
        opened = self._names(conn, person_id, reveal=True)
        return self.person_name(opened, False) if opened else PROTECTED

    def _names(self, conn: Any, person_id: int, reveal: bool) -> list[tuple[str, str, str]]:
        """A person's names, sealed ones opened when revealed (each opening audited)."""
        rows = queries.name_rows_of_person(conn, person_id)
        disclosure = self.vault.disclosure
        opened = []
        for r in rows:
            name = disclosure.open(conn, "person_names", "name", r.id, r.name, reveal)
            if name == PROTECTED:
                return []
            opened.append((name, r.script, r.kind))
        return opened

    def id_of(self, kind: str, ref: str) -> int:
        """The id of the record of ``kind`` with this ref.

        Raises:
            NotFound: when there is none the role may see.
        """
        kind = _kind(kind)
        with self.vault.store.reading() as conn:
            row = store_rows.by_refs(conn, kind, [ref]).get(ref)
        if row is None or not may_see(self.vault.role, getattr(row, "sharing", None)):
            raise NotFound(
                Message("there is no {kind} with ref {ref!r}", kind=Message(kind), ref=ref)
            )
        return int(row.id)

    def visible(self, kind: str, ids: Sequence[int]) -> list[int]:
        """The ids among ``ids`` of records the role may see, in the same order (records that
        do not exist are left out; places and organizations are everyone's)."""
        if kind in ("place", "organization"):
            return list(ids)
        kind = _kind(kind)
        with self.vault.store.reading() as conn:
            levels = queries.sharing_levels(conn, kind, ids)
        return [i for i in ids if i in levels and may_see(self.vault.role, levels[i])]

    def titles(
        self, hits: Sequence[tuple[str, int]], lang: str | None = None
    ) -> dict[tuple[str, int], str]:
        """A one-line title for each (kind, id), with only what the role may read.

        Args:
            hits: the records.
            lang: the reader's language (``ko``, ``en``): act types, places and
                organizations by their names in it, dates in words (``2009년 봄``). Without
                it, the English labels and the dates as stored (EDTF), as the command line
                prints them.
        """
        by_kind: dict[str, list[int]] = {}
        for kind, rid in hits:
            by_kind.setdefault(kind, []).append(rid)
        titles: dict[tuple[str, int], str] = {}
        with self.vault.store.reading() as conn:
            for kind, ids in by_kind.items():
                titles.update(self._titles(conn, kind, store_rows.get_many(conn, kind, ids), lang))
        return titles

    def visible_titles(
        self, kind: str, ids: Sequence[int], lang: str | None = None, limit: int | None = None
    ) -> list[tuple[int, str | None]]:
        """The first ``limit`` of ``ids`` the role may see (as :meth:`visible`), each with its
        title (as :meth:`titles`, None when it has none), from one read of their rows: a
        record page's lists ask for both, and each query and transaction costs (memory
        security locks and wipes every allocation)."""
        kind = _kind(kind)
        with self.vault.store.reading() as conn:
            rows = store_rows.get_many(conn, kind, ids)
            if kind in ("place", "organization"):
                seen = list(ids)
            else:
                seen = [
                    i
                    for i in ids
                    if i in rows and may_see(self.vault.role, getattr(rows[i], "sharing", None))
                ]
            seen = seen[:limit] if limit is not None else seen
            wanted = {i: rows[i] for i in seen if i in rows}
            titles = self._titles(conn, kind, wanted, lang)
        return [(i, titles.get((kind, i))) for i in seen]

    def _titles(
        self, conn: Any, kind: str, rows: Mapping[int, Any], lang: str | None
    ) -> dict[tuple[str, int], str]:
        """The titles of ``rows`` (records of ``kind`` by id), read on ``conn``."""
        titles: dict[tuple[str, int], str] = {}
        if kind == "act":
            victims = [r.victim_id for r in rows.values() if r.victim_id]
            names = queries.names_of_persons(conn, victims)
            people = store_rows.get_many(conn, "person", victims)
            for rid, row in rows.items():
                parts = [self.act_type_label(row.act_type, lang or "en")]
                if row.victim_id:
                    parts.append(
                        self._victim_label(
                            conn,
                            row,
                            names.get(row.victim_id, []),
                            people.get(row.victim_id),
                        )
                    )
                place = self.vault.places.get(row.facility_id or row.place_id)
                if place:
                    parts.append(_name(place, lang))
                if row.date_edtf:
                    said = human_date(row.date_edtf, lang) if lang else None
                    parts.append(said or row.date_edtf)
                titles[(kind, rid)] = " · ".join(parts)
        elif kind == "person":
            names = queries.names_of_persons(conn, list(rows))
            hidden = access(self.vault.role, None, "person_names", "name") is Access.REDACT
            for rid, row in rows.items():
                titles[(kind, rid)] = (
                    self.vault.disclosure.pseudonym("persons", rid)
                    if hidden and not row.protected
                    else self.person_name(names.get(rid, []), row.protected)
                )
        elif kind in ("place", "organization") and lang:
            directory = self.vault.places if kind == "place" else self.vault.organizations
            for rid in rows:
                entry = directory.get(rid)
                name = _name(entry, lang) if entry else f"#{rid}"
                titles[(kind, rid)] = f"{kind.capitalize()} {name}"
        else:
            table = RECORD_TABLES[kind].name
            for rid, row in rows.items():
                sharing = getattr(row, "sharing", None)
                label = getattr(row, "title", None)
                if label and access(self.vault.role, sharing, table, "title") is Access.REDACT:
                    label = None
                label = label or row.ref or f"#{rid}"
                titles[(kind, rid)] = f"{kind.capitalize()} {label}"
        return titles

    def show(self, kind: str, record_id: int, reveal: bool = False) -> dict[str, Any]:
        """One record in full, with the records it refers to resolved to names.

        Every field passes through the access policy for the archive's user: what the role
        may not read is redacted, sealed values show as ``[protected]``; with ``reveal`` a
        role that holds the seal key sees them opened, and each opening is audited.
        """
        kind = _kind(kind)
        with self.vault.store.reading() as conn:
            row = store_rows.get(conn, kind, record_id)
            sharing = getattr(row, "sharing", None)
            if kind == "attachment" and row is not None:
                # an evidence file is as shared as the record it belongs to
                parent = store_rows.get(conn, row.record_kind, row.record_id)
                sharing = getattr(parent, "sharing", None)
            if row is None or not may_see(self.vault.role, sharing):
                raise NotFound(no_such(kind, record_id))
            data: dict[str, Any] = {
                "kind": kind,
                **self.vault.disclosure.row(
                    conn,
                    RECORD_TABLES[kind].name,
                    {k: store_rows._jsonable(v) for k, v in row._mapping.items()},
                    sharing,
                    reveal=reveal,
                ),
            }
            if kind == "attachment":
                # its hash is shown by archive.attachments, to the roles that may open it
                data["sha256"] = REDACTED
            if kind == "act":
                self._show_act(conn, row, data, reveal)
            elif kind == "person":
                names = queries.names_of_persons(conn, [record_id]).get(record_id, [])
                if row.protected:
                    opened = self._names(conn, record_id, reveal) if reveal else []
                    data["names"] = (
                        [{"name": n, "script": s, "kind": k} for n, s, k in opened]
                        if opened
                        else [PROTECTED]
                    )
                elif access(self.vault.role, None, "person_names", "name") is Access.REDACT:
                    data["names"] = [REDACTED]
                else:
                    data["names"] = [{"name": n, "script": s, "kind": k} for n, s, k in names]
                origin = self.vault.places.get(row.origin_place_id)
                data["origin"] = origin.label if origin else None
                data["acts"] = [
                    a.id for a in queries.acts_of(conn, "victim_id", record_id, SHOW_LIMIT)
                ]
            elif kind == "event":
                data["acts"] = [
                    a.id for a in queries.acts_of(conn, "event_id", record_id, SHOW_LIMIT)
                ]
            elif kind == "source":
                data["informant_id"] = PROTECTED if row.informant_id else None
                if (
                    row.informant_id
                    and reveal
                    and access(self.vault.role, row.sharing, "sources", "informant_id")
                    is not Access.REDACT
                ):
                    data["informant"] = self._protected_name(conn, row.informant_id, True)
                data["acts"] = [a.id for a in queries.acts_of_source(conn, record_id, SHOW_LIMIT)]
            elif kind == "place":
                data["within"] = [e.label for e in self.vault.places.ancestors(record_id)[1:]]
            return data

    def _show_act(self, conn: Any, row: Any, data: dict[str, Any], reveal: bool = False) -> None:
        data["act_type_label"] = {
            "en": self.act_type_label(row.act_type, "en"),
            "ko": self.act_type_label(row.act_type, "ko"),
        }
        term = self.act_types.get(row.act_type) if row.act_type else None
        data["legal_refs"] = list(term.legal_refs) if term else []
        if row.victim_id:
            names = queries.names_of_persons(conn, [row.victim_id]).get(row.victim_id, [])
            victim = store_rows.get(conn, "person", row.victim_id)
            label = self._victim_label(conn, row, names, victim, reveal)
            data["victim"] = label
            readable = not (victim and victim.protected) and label == self.person_name(names, False)
            data["victim_names"] = [n for n, _s, _k in names] if readable else [label]
        for column in ("place_id", "facility_id"):
            entry = self.vault.places.get(getattr(row, column))
            data[column.removesuffix("_id")] = (
                " < ".join(e.label for e in self.vault.places.ancestors(entry.id))
                if entry
                else None
            )
        perps = queries.perpetrators_of_acts(conn, [row.id]).get(row.id, [])
        people = queries.names_of_persons(conn, [p for _o, p, _r in perps if p])
        data["perpetrators"] = [
            {
                "organization": (org.label if (org := self.vault.organizations.get(o)) else None),
                "person": self.person_name(people.get(p, []), False) if p else None,
                "role": role,
            }
            for o, p, role in perps
        ]
        data["sources"] = queries.sources_of_acts(conn, [row.id]).get(row.id, [])
        if row.event_id:
            event = store_rows.get(conn, "event", row.event_id)
            data["event"] = event.title or event.ref if event else None

    def history(self, kind: str, record_id: int) -> list[dict[str, Any]]:
        """Every version of a record, oldest first."""
        kind = _kind(kind)
        table = RECORD_TABLES[kind].name
        with self.vault.store.reading() as conn:
            versions = store_rows.history(conn, kind, record_id)
            if not versions or not may_see(self.vault.role, versions[-1].get("sharing")):
                raise NotFound(no_such(kind, record_id))
            # Every version answers to today's sharing level and today's seals: a record made
            # confidential (or a person protected) shows none of its earlier text either.
            current = versions[-1]
            shown = []
            for version in versions:
                extra = {k: v for k, v in version.items() if k.startswith("_")}
                plain = {k: v for k, v in version.items() if not k.startswith("_")}
                if version is not current:
                    plain = _as_today(plain, current)
                shown.append(
                    {
                        **self.vault.disclosure.row(
                            conn, table, plain, sharing=current.get("sharing")
                        ),
                        **extra,
                    }
                )
        return shown


def _as_today(kept: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A superseded version with what is sealed today (or withheld from the history) shown as
    :data:`PROTECTED`, and a protected person's earlier ref (which may hold their name) too."""
    out = dict(kept)
    for column, value in kept.items():
        withdrawn = is_withheld(value) or (
            value is not None and is_sealed(current.get(column)) and not is_sealed(value)
        )
        if column == "ref" and current.get("protected") and value != current.get("ref"):
            withdrawn = True
        if withdrawn:
            out[column] = PROTECTED
    return out
