"""Importing flat acts files: write the valid rows as sources, events, persons and acts.

Each row is validated by the format's own rules (:func:`sillok.records.flatacts.parse_row`);
the search documents of what is written are built by :mod:`sillok.records.index`.

The whole import is one transaction: by default any invalid row means nothing is written, and
the report names every bad row, column and value; with ``skip_invalid`` the valid rows are
written and the rejects go to a file. Records are matched by ref, so importing the same file
twice creates nothing new, and a changed row becomes a new version of its record.

How rows map to records (see docs/flat-acts-format.md):

* rows with the same ``source_ref`` are one source; the same ``event_ref`` one event;
* the same ``victim_ref`` is one person; a victim without a ref is one person per source and name;
* an act is identified by its source, event, victim, act type and date: two rows that agree on
  all five are the same act, and the later one wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from sillok import vocab
from sillok.dates import UncertainDate
from sillok.directory import Entry
from sillok.errors import InvalidInput
from sillok.names import is_hangul
from sillok.records.flatacts import (
    ParsedRow,
    RowError,
    format_of,
    read_rows,
)
from sillok.records.import_report import ImportFailed, ImportReport
from sillok.records.index import (
    IndexChanges,
    act_document,
    event_document,
    person_document,
    source_document,
)
from sillok.records.person_refs import (
    act_ref,
    chosen_victim_refs,
    opened_names,
    protect_known,
    rekey_refs,
    unnamed_victim_ref,
)
from sillok.records.rejects import Rejects
from sillok.records.weights import reweigh
from sillok.records.withheld import ImportRow, parse_import_row, parts
from sillok.security.policy import may
from sillok.security.refs import RefKey
from sillok.store import imports as import_rows
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store import search as index_store
from sillok.store.rows import UpsertResult, delete_perpetrators, upsert_by_ref
from sillok.store.seals import protected_persons

if TYPE_CHECKING:
    from sillok.vault import Vault

Progress = Callable[[int], None]
#: called in an import's transaction after its rows are written, with the records each row
#: number was written to (``act``, ``source``, and ``event`` and ``person`` for the victim
#: when the row has them): what an Uwazi import attaches its files to
RowsWritten = Callable[[Connection, Mapping[int, Mapping[str, int]]], None]

MAX_KEPT_ERRORS = 10_000

def _date_columns(prefix: str, value: UncertainDate | None) -> dict[str, Any]:
    return {
        f"{prefix}_edtf": value.edtf if value else None,
        f"{prefix}_lower": value.lower if value else None,
        f"{prefix}_upper": value.upper if value else None,
    }


class Importer:
    """Imports flat acts files into an archive."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.facility_types = vocab.load("facility_types")
        # Load the directories now, not inside the import's write transaction.
        _ = (vault.places, vault.organizations)
        self._records_of: dict[int, dict[str, int]] | None = None

    def parse_row(self, number: int, raw: dict[str, str]) -> ParsedRow | list[RowError]:
        """Validate one row: the parsed row, or every error in it (see
        :func:`sillok.records.flatacts.parse_row`).

        A value an export withheld (``[protected]``, ``[redacted]``, ``[erased]``) is never
        imported as data: the field is left as the archive has it. In a column that says which
        record the row is about, it makes the row invalid (nothing could be matched).
        """
        return parse_import_row(number, raw)

    # --- running --------------------------------------------------------------------------

    def run(
        self,
        path: Path,
        skip_invalid: bool = False,
        rejects: Path | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import a file; raises :class:`ImportFailed` (nothing written) on invalid rows.

        Args:
            path: a .csv, .jsonl or .xlsx file in the flat acts format.
            skip_invalid: import the valid rows and write the invalid ones to ``rejects``.
            rejects: where rejected rows go (default: FILE.rejects.csv beside the input).
            progress: called with the number of rows read so far, now and then.
        """
        path = Path(path)
        format_of(path)
        return self.run_rows(
            read_rows(path, self.vault.settings.read_limits),
            path.name,
            skip_invalid,
            rejects or path.with_name(path.name + ".rejects.csv"),
            progress,
        )

    def run_rows(
        self,
        rows: Iterable[tuple[int, dict[str, str]]],
        name: str,
        skip_invalid: bool = False,
        rejects: Path | None = None,
        progress: Progress | None = None,
        written: RowsWritten | None = None,
    ) -> ImportReport:
        """Import rows already read: (row number, {column: value}); see :meth:`run`.
        ``written`` is called in the import's transaction once every row is written.

        Raises:
            InvalidInput: the role may not import (nothing is read or written).
        """
        if not may(self.vault.role, "import"):
            raise InvalidInput(f"the {self.vault.role} role may not import records")
        report = ImportReport(file=name)
        batch_size = self.vault.settings.import_batch_size
        rejected = Rejects(rejects or Path(f"{name}.rejects.csv"))
        self._records_of = {} if written is not None else None
        with rejected, self.vault.store.transaction() as conn:
            if import_rows.refs_to_rekey(conn):  # an archive from before the ref key
                rekey_refs(conn, self.vault.sealer, self.vault.settings.actor)
            batch: list[ImportRow] = []
            batches, next_statistics = 0, 1
            for number, raw in rows:
                report.rows += 1
                parsed = parse_import_row(number, raw)
                if isinstance(parsed, list):
                    report.invalid_rows += 1
                    if len(report.errors) < MAX_KEPT_ERRORS:
                        report.errors.extend(parsed)
                    if skip_invalid:
                        reasons = "; ".join(f"{e.column}: {e.reason}" for e in parsed)
                        rejected.write({**raw, "row": str(number), "errors": reasons})
                    continue
                report.valid_rows += 1
                if report.invalid_rows and not skip_invalid:
                    continue  # keep validating, so the report names every bad row
                batch.append(parsed)
                if len(batch) >= batch_size:
                    self._write(conn, batch, report)
                    batch = []
                    batches += 1
                    if batches == next_statistics:
                        # after 1, 2, 4, 8... batches: a cost per batch that shrinks
                        import_rows.refresh_statistics(conn, self.vault.store.dialect)
                        next_statistics *= 2
                if progress is not None and report.rows % 1000 == 0:
                    progress(report.rows)
            if report.invalid_rows and not skip_invalid:
                conn.rollback()
                raise ImportFailed(report)
            self._write(conn, batch, report)
            if written is not None and self._records_of is not None:
                written(conn, self._records_of)
                self._records_of = None
            # A large import leaves the index in many segments, which slows every search;
            # merging them costs about 3 µs per document of the whole index, so only after an
            # import that wrote a tenth of it or more.
            if (
                sum(report.created.values()) * 10 >= index_store.indexed_records_estimate(conn)
                or report.withheld
            ):
                # a record made confidential: its earlier words leave the index's segments
                index_store.compact_index(conn, self.vault.store.dialect)
            if rejected.count:
                report.rejects_file = str(rejected.path)
        if progress is not None:
            progress(report.rows)
        report.committed = True
        return report

    # --- writing --------------------------------------------------------------------------

    def _resolve(
        self,
        conn: Connection,
        directory: str,
        name: str,
        kind: str,
        report: ImportReport,
        facility_type: str | None = None,
    ) -> Entry:
        entries = getattr(self.vault, directory)
        found: Entry | None = entries.resolve(name, facility=kind == "facility")
        if found is None:
            found = entries.add_unverified(
                conn,
                self.vault.store.dialect,
                name,
                self.vault.settings.actor,
                kind,
                facility_type,
            )
            report.unverified.append((kind, name))
        return found

    def _write(self, conn: Connection, batch: list[ImportRow], report: ImportReport) -> None:
        if not batch:
            return
        archive, dialect, actor = (
            self.vault,
            self.vault.store.dialect,
            self.vault.settings.actor,
        )
        place_of: dict[int, Entry | None] = {}
        facility_of: dict[int, Entry | None] = {}
        origin_of: dict[int, Entry | None] = {}
        orgs_of: dict[int, list[Entry]] = {}
        for row in batch:
            raw = row.raw
            place_of[row.number] = (
                self._resolve(conn, "places", raw["place"], "place", report)
                if raw.get("place")
                else None
            )
            facility = None
            if raw.get("facility") and not (
                row.facility_type and self.facility_types.lookup(raw["facility"]) is not None
            ):
                facility = self._resolve(
                    conn,
                    "places",
                    raw["facility"],
                    "facility",
                    report,
                    facility_type=row.facility_type or self._guess_facility_type(raw["facility"]),
                )
                row.facility_type = facility.facility_type
            facility_of[row.number] = facility
            origin_of[row.number] = (
                self._resolve(conn, "places", raw["victim_origin"], "place", report)
                if raw.get("victim_origin")
                else None
            )
            orgs_of[row.number] = [
                self._resolve(conn, "organizations", o, "organization", report)
                for o in row.perpetrator_orgs
            ]

        # persons: informants (protected), victims, named perpetrators. A ref made from a name
        # is a keyed hash under the ref key (security/refs.py), never the name. What a row
        # leaves blank (or an export withheld) it does not know: it never clears what another
        # testimony recorded, and it never un-protects anyone.
        refs = RefKey.of(archive.sealer, conn)
        person_values: dict[str, dict[str, Any]] = {}
        person_names_of: dict[str, list[str]] = {}
        to_protect: set[str] = set()
        informant_ref: dict[int, str] = {}
        victim_ref: dict[int, str] = {}
        perpetrator_refs: dict[int, list[str]] = {}
        chosen = chosen_victim_refs(
            conn, refs, [row.raw["victim_ref"] for row in batch if row.raw.get("victim_ref")]
        )
        for row in batch:
            raw = row.raw
            if raw.get("informant"):
                ref = refs.informant(raw["informant"])
                informant_ref[row.number] = ref
                person_values[ref] = {"protected": True, "status": "unknown"}
                person_names_of.setdefault(ref, []).append(raw["informant"])
            vref = chosen.get(raw.get("victim_ref", "")) or unnamed_victim_ref(refs, raw)
            if vref:
                victim_ref[row.number] = vref
                origin = origin_of[row.number]
                values = person_values.setdefault(vref, {})
                if row.victim_sex:
                    values["sex"] = row.victim_sex
                if row.victim_birth:
                    values.update(_date_columns("birth", row.victim_birth))
                if origin:
                    values["origin_place_id"] = origin.id
                if row.protected_victim:
                    to_protect.add(vref)
                names = person_names_of.setdefault(vref, [])
                for name in (raw.get("victim_name"), raw.get("victim_name_hangul")):
                    if name:
                        names.append(name)
                if "victim_aliases" not in row.withheld:
                    names += parts(raw.get("victim_aliases", ""))
            named = []
            for name in row.perpetrator_names:
                pref = refs.perpetrator(raw["source_ref"], name)
                named.append(pref)
                person_values.setdefault(pref, {"status": "unknown"})
                person_names_of.setdefault(pref, []).append(name)
                if name in row.protected_perpetrators:
                    to_protect.add(pref)
            perpetrator_refs[row.number] = named
        known = store_rows.by_refs(conn, "person", sorted(to_protect))
        for ref in to_protect - set(known):  # protected before their names are written
            person_values[ref]["protected"] = True
        persons = upsert_by_ref(conn, dialect, "person", person_values, actor)
        report.count("person", persons)
        protect_known(
            conn,
            refs,
            [p.id for p in known.values() if not p.protected],
            dialect,
            actor,
        )
        renamed = self._add_names(conn, persons, person_names_of)

        source_values: dict[str, dict[str, Any]] = {}
        for row in batch:
            raw = row.raw
            iref = informant_ref.get(row.number)
            values = source_values.setdefault(
                raw["source_ref"],
                {
                    "source_type": row.source_type,
                    **_date_columns("date", row.source_date),
                    "sharing": row.sharing,
                },
            )
            if iref:  # a blank informant never clears one: exports leave informants out
                values["informant_id"] = persons.ids[iref]
        sources = upsert_by_ref(conn, dialect, "source", source_values, actor)
        report.count("source", sources)

        event_values: dict[str, dict[str, Any]] = {
            row.raw["event_ref"]: {}
            if "event_title" in row.withheld
            else {"title": row.raw.get("event_title") or None}
            for row in batch
            if row.raw.get("event_ref")
        }
        events = upsert_by_ref(conn, dialect, "event", event_values, actor)
        report.count("event", events)

        act_values: dict[str, dict[str, Any]] = {}
        act_row: dict[str, ImportRow] = {}
        act_of: dict[int, str] = {}
        for row in batch:
            raw = row.raw
            vref = victim_ref.get(row.number)
            place, facility = place_of[row.number], facility_of[row.number]
            ref = act_ref(
                refs,
                raw["source_ref"],
                raw.get("event_ref", ""),
                vref,
                row.act_type,
                row.act_date.edtf if row.act_date else "",
            )
            act_values[ref] = {
                "act_type": row.act_type,
                "event_id": events.ids[raw["event_ref"]] if raw.get("event_ref") else None,
                "victim_id": persons.ids[vref] if vref else None,
                **_date_columns("date", row.act_date),
                "place_id": place.id if place else None,
                "facility_id": facility.id if facility else None,
                "facility_type": row.facility_type,
                "description": raw.get("description") or None,
                "sharing": row.sharing,
            }
            if "description" in row.withheld:  # an export withheld it: leave it as it is
                del act_values[ref]["description"]
            act_row[ref] = row
            act_of[row.number] = ref
        acts = upsert_by_ref(conn, dialect, "act", act_values, actor)
        if self._records_of is not None:
            for row in batch:
                vref, event_ref = victim_ref.get(row.number), row.raw.get("event_ref")
                self._records_of[row.number] = {
                    "act": acts.ids[act_of[row.number]],
                    "source": sources.ids[row.raw["source_ref"]],
                    **({"event": events.ids[event_ref]} if event_ref else {}),
                    **({"person": persons.ids[vref]} if vref else {}),
                }
        self._link_acts(conn, acts, act_row, sources, persons, orgs_of, perpetrator_refs, report)
        report.count("act", acts)

        self._index(
            conn,
            acts,
            act_row,
            act_values,
            persons,
            {**person_names_of, **renamed},
            sources,
            events,
            event_values,
            orgs_of,
            informant_ref,
            set(renamed),
        )

    def _guess_facility_type(self, name: str) -> str | None:
        for word in name.replace("-", " ").split():
            term = self.facility_types.lookup(word)
            if term is not None:
                return term.key
        for term in self.facility_types.terms:
            if any(n and n in name for n in (term.labels.get("ko"), *term.aliases)):
                return term.key
        return None

    def _add_names(
        self, conn: Connection, persons: UpsertResult, names_of: dict[str, list[str]]
    ) -> dict[str, list[str]]:
        """Store the names not known yet; returns every name of each person seen before whose
        names changed or whose record was updated: their search documents are made anew."""
        existing_ids = [persons.ids[r] for r in names_of if r not in persons.created]
        known = opened_names(conn, self.vault.sealer, existing_ids)
        rows = []
        renamed: dict[str, list[str]] = {}
        for ref, names in names_of.items():
            if ref.startswith("informant:") and ref not in persons.created:
                # An informant's ref is a keyed hash of their name: a known informant has
                # this name already.
                continue
            pid = persons.ids[ref]
            every = list(known.get(pid, []))
            seen = set(every)
            for name in dict.fromkeys(names):
                if name not in seen:
                    kind = "birth" if not seen else "alias"
                    script = "Hang" if is_hangul(name) else "Latn"
                    rows.append({"person_id": pid, "name": name, "script": script, "kind": kind})
                    seen.add(name)
                    every.append(name)
            if ref not in persons.created and (len(every) > len(known.get(pid, []))
                                               or ref in persons.updated):
                renamed[ref] = every
        import_rows.add_person_names(conn, self.vault.store.dialect, rows)
        return renamed

    def _link_acts(
        self,
        conn: Connection,
        acts: UpsertResult,
        act_row: dict[str, ImportRow],
        sources: UpsertResult,
        persons: UpsertResult,
        orgs_of: dict[int, list[Entry]],
        perpetrator_refs: dict[int, list[str]],
        report: ImportReport,
    ) -> None:
        created = acts.created
        changed_ids = [acts.ids[r] for r in acts.updated]
        # a perpetrator whose name the file withheld stays as the archive has them
        kept = queries.perpetrators_of_acts(
            conn,
            [acts.ids[r] for r in acts.updated if "perpetrator_name" in act_row[r].withheld],
        )
        delete_perpetrators(conn, changed_ids)
        existing_links = queries.sources_of_acts(
            conn, [acts.ids[r] for r in act_row if r not in created]
        )
        links, perps = [], []
        for ref, row in act_row.items():
            act_id = acts.ids[ref]
            source_id = sources.ids[row.raw["source_ref"]]
            if source_id not in existing_links.get(act_id, []):
                links.append({"act_id": act_id, "source_id": source_id})
            if ref in created or ref in acts.updated:
                perps += [
                    {
                        "act_id": act_id,
                        "organization_id": o.id,
                        "person_id": None,
                        "role": row.perpetrator_role,
                    }
                    for o in orgs_of[row.number]
                ]
                perps += [
                    {
                        "act_id": act_id,
                        "organization_id": None,
                        "person_id": persons.ids[p],
                        "role": row.perpetrator_role,
                    }
                    for p in perpetrator_refs[row.number]
                ]
                named = {persons.ids[p] for p in perpetrator_refs[row.number]}
                perps += [
                    {"act_id": act_id, "organization_id": None, "person_id": p, "role": r}
                    for _o, p, r in kept.get(act_id, [])
                    if p is not None and p not in named
                ]
        import_rows.add_act_sources(conn, self.vault.store.dialect, links)
        import_rows.add_perpetrators(conn, self.vault.store.dialect, perps)

    def _index(
        self,
        conn: Connection,
        acts: UpsertResult,
        act_row: dict[str, ImportRow],
        act_values: dict[str, dict[str, Any]],
        persons: UpsertResult,
        person_names_of: dict[str, list[str]],
        sources: UpsertResult,
        events: UpsertResult,
        event_values: dict[str, dict[str, Any]],
        orgs_of: dict[int, list[Entry]],
        informant_ref: dict[int, str],
        renamed: set[str],
    ) -> None:
        places = self.vault.places
        # A protected person's names are sealed: they never enter the index, where anyone
        # holding the database key reads them, and which every role searches.
        sealed_ids = protected_persons(conn, sorted({persons.ids[r] for r in person_names_of}))
        protected = set(informant_ref.values()) | {
            r for r in person_names_of if persons.ids[r] in sealed_ids
        }
        changes = IndexChanges()
        changes.add(
            "act",
            acts,
            act_row,
            lambda ref: act_document(
                act_row[ref], act_values[ref], places, orgs_of[act_row[ref].number]
            ),
        )
        # how many acts name each victim now: a person's document holds its weight bucket
        counts = index_store.acts_per_victim(conn, sorted(set(persons.ids.values())))
        documented = [r for r in person_names_of if r not in protected]
        changes.add(
            "person",
            persons,
            documented,
            lambda ref: person_document(person_names_of[ref], counts.get(persons.ids[ref], 0)),
            renamed,
        )
        written = {
            persons.ids[r] for r in documented
            if r in persons.created or r in persons.updated or r in renamed
        }
        added: dict[int, int] = {}
        for ref in acts.created:
            if (victim := act_values[ref]["victim_id"]) is not None:
                added[victim] = added.get(victim, 0) + 1
        reweigh(conn, self.vault.sealer, added, counts, written, changes)
        changes.add(
            "source", sources, {r.raw["source_ref"] for r in act_row.values()}, source_document
        )
        changes.add(
            "event",
            events,
            event_values,
            lambda ref: event_document(ref, event_values[ref].get("title")),
        )
        index_store.write_documents(
            conn, self.vault.store.dialect, changes.documents, changes.stale
        )


__all__ = ["ImportFailed", "ImportReport", "Importer"]
