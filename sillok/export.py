"""Exporting an archive to the flat acts format, which ``import`` reads back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from sillok.errors import InvalidInput
from sillok.flatacts import write_rows
from sillok.store import queries
from sillok.store import records as store_records

if TYPE_CHECKING:
    from sillok.archive import Archive
    from sillok.directory import Directory

EXPORT_FORMATS = {"csv": "csv", "json": "jsonl", "jsonl": "jsonl"}
BATCH = 2000


def _name_for_import(directory: Directory, entry_id: int | None) -> str:
    entry = directory.get(entry_id)
    if entry is None:
        return ""
    return entry.vocab_key or entry.name_ko or entry.name_en or ""


class Exports:
    """Flat-acts exports of an archive."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def write(self, out: IO[str], fmt: str, include_protected: bool = False) -> int:
        """Write every act as one row; returns the number of rows.

        Informants are protected: they are left out unless ``include_protected`` is set (a
        full backup for the archive's own holder, never a publication).
        """
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(f"--format: {fmt!r} is not one of json, csv")
        return write_rows(out, self.rows(include_protected), EXPORT_FORMATS[fmt])

    def rows(self, include_protected: bool = False) -> Iterator[dict[str, str]]:
        """Every act as a flat row, in id order, with flat memory use."""
        places, orgs = self.archive.places, self.archive.organizations
        with self.archive.store.reading() as conn:
            for batch in queries.act_batches(conn, BATCH):
                ids = [a.id for a in batch]
                source_ids = queries.sources_of_acts(conn, ids)
                perps = queries.perpetrators_of_acts(conn, ids)
                sources = store_records.get_many(
                    conn, "source", [s for ss in source_ids.values() for s in ss]
                )
                events = store_records.get_many(
                    conn, "event", [a.event_id for a in batch if a.event_id]
                )
                person_ids = [a.victim_id for a in batch if a.victim_id]
                person_ids += [p for ps in perps.values() for _o, p, _r in ps if p]
                person_ids += [s.informant_id for s in sources.values() if s.informant_id]
                people = store_records.get_many(conn, "person", person_ids)
                names = queries.names_of_persons(conn, person_ids)
                for act in batch:
                    for source_id in source_ids.get(act.id, []):
                        source = sources[source_id]
                        victim = people.get(act.victim_id) if act.victim_id else None
                        vnames = names.get(act.victim_id, []) if act.victim_id else []
                        first = vnames[0][0] if vnames else ""
                        hangul = next((n for n, s, _k in vnames[1:] if s == "Hang"), "")
                        informant = ""
                        if include_protected and source.informant_id:
                            informant = names.get(source.informant_id, [("", "", "")])[0][0]
                        event = events.get(act.event_id) if act.event_id else None
                        act_perps = perps.get(act.id, [])
                        yield {
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
                            "victim_ref": _victim_ref(victim.ref) if victim else "",
                            "victim_name": first,
                            "victim_name_hangul": hangul,
                            "victim_sex": (victim.sex or "") if victim else "",
                            "victim_birth": (victim.birth_edtf or "") if victim else "",
                            "victim_origin": _name_for_import(places, victim.origin_place_id)
                            if victim
                            else "",
                            "perpetrator_org": "; ".join(
                                _name_for_import(orgs, o) for o, _p, _r in act_perps if o
                            ),
                            "perpetrator_name": "; ".join(
                                names.get(p, [("", "", "")])[0][0] for _o, p, _r in act_perps if p
                            ),
                            "description": act.description or "",
                            "sharing": act.sharing,
                        }


def _victim_ref(ref: str | None) -> str:
    """The file's victim_ref for a stored person ref (victims without one stay without)."""
    return ref.removeprefix("victim:") if ref and ref.startswith("victim:") else ""
