"""Exporting an archive to the flat acts format, which ``import`` reads back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from sillok.errors import InvalidInput
from sillok.messages import not_one_of
from sillok.records.flatacts import COLUMNS, write_rows
from sillok.records.person_refs import export_victim_ref
from sillok.records.streamed import csv_pieces, xlsx_pieces
from sillok.security.policy import PROTECTED, REDACTED, Access, access, may, may_see
from sillok.security.seal import is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows

if TYPE_CHECKING:
    from sillok.directory import Directory
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

EXPORT_FORMATS = {"csv": "csv", "json": "jsonl", "jsonl": "jsonl"}
#: the files a search's matches can be downloaded as (:meth:`Exports.download`)
DOWNLOAD_FORMATS = ("csv", "xlsx")
BATCH = 2000


def _name_for_import(directory: Directory, entry_id: int | None) -> str:
    entry = directory.get(entry_id)
    if entry is None:
        return ""
    return entry.vocab_key or entry.name_ko or entry.name_en or ""


class Exports:
    """Flat-acts exports of an archive."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records

    def write(self, out: IO[str], fmt: str, include_protected: bool = False) -> int:
        """Write every act as one row; returns the number of rows.

        Every field passes through the access policy for the archive's user. Informants and
        other sealed values are left out (``[protected]``) unless ``include_protected`` is set
        by a role allowed to (a full copy for the archive's own holder, never a
        publication); each value opened for it is audited, and so is the export.
        """
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(not_one_of(fmt, ("json", "csv"), "--format"))
        role = self.vault.role
        if include_protected and not may(role, "export.protected"):
            raise InvalidInput(f"the {role} role may not export protected fields")
        count = write_rows(out, self.rows(include_protected), EXPORT_FORMATS[fmt])
        self.vault.audit.record(
            "export",
            detail={"rows": count, "format": fmt, "include_protected": include_protected},
        )
        return count

    def download(
        self, fmt: str, act_ids: Sequence[int], search: Mapping[str, str]
    ) -> Iterator[bytes]:
        """The given acts (a search's matches, in its order) as a flat acts file, ``csv`` or
        ``xlsx``, made a piece at a time while it is read (:mod:`sillok.records.streamed`).

        The rows are :meth:`rows`' (every field as the archive's role may read it; sealed
        values never opened: a download is for sharing). The export is audited with the
        search that chose the acts before anything is made.

        Raises:
            InvalidInput: an unknown format, or a role that may not export.
        """
        if fmt not in DOWNLOAD_FORMATS:
            raise InvalidInput(not_one_of(fmt, DOWNLOAD_FORMATS, "format"))
        role = self.vault.role
        if not may(role, "export"):
            raise InvalidInput(f"the {role} role may not export")
        self.vault.audit.record(
            "export",
            detail={
                "acts": len(act_ids),
                "format": fmt,
                "include_protected": False,
                # the search that chose the acts, one flat value each (as audits keep them)
                **{f"search_{name}": str(value) for name, value in search.items()},
            },
        )
        pieces = csv_pieces if fmt == "csv" else xlsx_pieces
        return pieces(self.rows(act_ids=act_ids), COLUMNS)

    def rows(
        self, include_protected: bool = False, act_ids: Sequence[int] | None = None
    ) -> Iterator[dict[str, str]]:
        """Every act the role may see as a flat row (or the given acts, in their order), in
        id order, with flat memory use."""
        for row, _records in self.rows_with_records(include_protected, act_ids):
            yield row

    def rows_with_records(
        self, include_protected: bool = False, act_ids: Sequence[int] | None = None
    ) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
        """:meth:`rows`, each with the ids of the records it shows: ``act``, ``source``, and
        ``event`` and ``person`` (the victim) when it has them (the Uwazi export's files)."""
        places, orgs = self.vault.places, self.vault.organizations
        role = self.vault.role
        reveal = include_protected and may(role, "export.protected")
        with self.vault.store.reading() as conn:
            for batch in _batches(conn, act_ids):
                ids = [a.id for a in batch]
                source_ids = queries.sources_of_acts(conn, ids)
                perps = queries.perpetrators_of_acts(conn, ids)
                sources = store_rows.get_many(
                    conn, "source", [s for ss in source_ids.values() for s in ss]
                )
                events = store_rows.get_many(
                    conn, "event", [a.event_id for a in batch if a.event_id]
                )
                person_ids = [a.victim_id for a in batch if a.victim_id]
                person_ids += [p for ps in perps.values() for _o, p, _r in ps if p]
                person_ids += [s.informant_id for s in sources.values() if s.informant_id]
                people = store_rows.get_many(conn, "person", person_ids)
                names = queries.names_of_persons(conn, person_ids)
                for act in batch:
                    if not may_see(role, act.sharing):
                        continue
                    for source_id in source_ids.get(act.id, []):
                        source = sources[source_id]
                        victim = people.get(act.victim_id) if act.victim_id else None
                        vnames = names.get(act.victim_id, []) if act.victim_id else []
                        informant = ""
                        if reveal and source.informant_id:
                            informant = self._name(conn, source.informant_id, True)
                        event = events.get(act.event_id) if act.event_id else None
                        act_perps = perps.get(act.id, [])
                        row = {
                            "source_ref": source.ref,
                            "source_type": source.source_type,
                            "source_date": source.date_edtf or "",
                            "informant": informant,
                            "event_ref": event.ref if event else "",
                            "event_title": (event.title or "") if event else "",
                            "act_type": act.act_type,
                            "act_date": act.date_edtf or "",
                            "place": _name_for_import(places, act.place_id),
                            "facility": _name_for_import(places, act.facility_id)
                            or (act.facility_type or ""),
                            "victim_ref": export_victim_ref(victim.ref) if victim else "",
                            **_victim_names(vnames),
                            "victim_sex": (victim.sex or "") if victim else "",
                            "victim_birth": (victim.birth_edtf or "") if victim else "",
                            "victim_origin": _name_for_import(places, victim.origin_place_id)
                            if victim
                            else "",
                            "perpetrator_org": "; ".join(
                                _name_for_import(orgs, o) for o, _p, _r in act_perps if o
                            ),
                            "perpetrator_name": "; ".join(
                                self._perpetrator(conn, people[p], names.get(p, []), reveal, act)
                                for _o, p, _r in act_perps
                                if p
                            ),
                            # one role per row on import; "perpetrator" (the default)
                            # is left blank, so that files without the column round-trip
                            "perpetrator_role": next(
                                (r for _o, _p, r in act_perps if r != "perpetrator"), ""
                            ),
                            "description": act.description or "",
                            "sharing": act.sharing,
                            "protected": _protected_column(
                                victim, [people[p] for _o, p, _r in act_perps if p]
                            ),
                        }
                        records = {"act": act.id, "source": source.id}
                        if event is not None:
                            records["event"] = event.id
                        if victim is not None:
                            records["person"] = victim.id
                        yield self._shown(conn, row, act, victim, event, reveal), records

    def _perpetrator(
        self, conn: Any, person: Any, names: list[tuple[str, str, str]], reveal: bool, act: Any
    ) -> str:
        """A named perpetrator as the role may export them: never a sealed value."""
        if person.protected:
            return self._name(conn, person.id, reveal)
        if access(self.vault.role, act.sharing, "person_names", "name") is Access.REDACT:
            return REDACTED
        return names[0][0] if names else ""

    def _name(self, conn: Any, person_id: int, reveal: bool) -> str:
        """A protected person's first name, opened (and audited) when revealed."""
        opened = self.records._names(conn, person_id, reveal)
        return opened[0][0] if opened else PROTECTED

    def _shown(
        self,
        conn: Any,
        row: dict[str, str],
        act: Any,
        victim: Any,
        event: Any,
        reveal: bool,
    ) -> dict[str, str]:
        """The row with what the role may not read redacted and sealed values protected."""
        role = self.vault.role

        def hidden(table: str, column: str, sharing: str | None = act.sharing) -> bool:
            return access(role, sharing, table, column) is Access.REDACT

        if victim is not None:
            if hidden("acts", "victim_id"):
                for column in ("victim_ref", *NAME_COLUMNS):
                    row[column] = REDACTED if row[column] else ""
            elif victim.protected:
                opened = self.records._names(conn, victim.id, reveal)
                row.update(_victim_names(opened) if opened else _victim_names([]))
                if not opened:
                    row["victim_name"] = PROTECTED
            elif hidden("person_names", "name"):
                for column in NAME_COLUMNS:
                    row[column] = REDACTED if row[column] else ""
            for column, field in (
                ("victim_sex", "sex"),
                ("victim_birth", "birth_edtf"),
                ("victim_origin", "origin_place_id"),
            ):
                if row[column] and hidden("persons", field):
                    row[column] = REDACTED
        if event is not None and row["event_title"] and hidden("events", "title", event.sharing):
            row["event_title"] = REDACTED
        if row["description"]:
            if hidden("acts", "description"):
                row["description"] = REDACTED
            elif is_sealed(act.description):
                row["description"] = self.vault.disclosure.open(
                    conn, "acts", "description", act.id, act.description, reveal
                )
        return row


NAME_COLUMNS = ("victim_name", "victim_name_hangul", "victim_aliases")


def _batches(conn: Any, act_ids: Sequence[int] | None) -> Iterator[list[Any]]:
    """Every act a batch at a time, in id order, or the given ones in their order."""
    if act_ids is None:
        yield from queries.act_batches(conn, BATCH)
        return
    for start in range(0, len(act_ids), BATCH):
        chunk = act_ids[start : start + BATCH]
        found = store_rows.get_many(conn, "act", chunk)
        yield [found[i] for i in chunk if i in found]


def _victim_names(names: list[tuple[str, str, str]]) -> dict[str, str]:
    """A victim's names in the file's columns: the first, the first Hangul one after it, and
    every other (``;``-separated), so that an import gives the person the same names."""
    first = names[0][0] if names else ""
    hangul = next((n for n, s, _k in names[1:] if s == "Hang"), "")
    rest = [n for n, _s, _k in names if n not in (first, hangul)]
    return {"victim_name": first, "victim_name_hangul": hangul, "victim_aliases": "; ".join(rest)}


def _protected_column(victim: Any, perpetrators: list[Any]) -> str:
    """Who in the row is protected (``victim``, ``perpetrator N``), so that an import keeps
    them protected (see :mod:`sillok.records.withheld`)."""
    marks = ["victim"] if victim is not None and victim.protected else []
    marks += [f"perpetrator {n}" for n, p in enumerate(perpetrators, start=1) if p.protected]
    return "; ".join(marks)
