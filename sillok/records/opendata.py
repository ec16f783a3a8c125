"""Open data: the public records of an archive, as the anonymous visitor may see them, in a
SQLite file made for Datasette (``sillok publish data``).

What goes in is decided by the one access policy (:mod:`sillok.security.policy`) asked for the
:data:`~sillok.security.policy.ANONYMOUS` role, never by a rule of this module's own: a record
is published when the anonymous visitor may see its sharing level (:func:`may_see`: public
records), and each field of it when the visitor may read that field at that level
(:func:`redact_row`); a sealed value is never published. On top of that, the file is a
*selection*: it carries the columns listed in :mod:`sillok.records.opendata_tables` and no
others, so informants, contacts, sources' narratives and titles (the witness's own words),
attachments, refs, authors, versions and archive ids never reach it, whatever the policy
allows. Persons are published as pseudonyms (the same stand-in the policy gives a person a
role may not identify); a person is also *named* only where the visitor may read the name in
every public record that refers to them and the person is not protected. A protected
person is a pseudonym and nothing more. Records are renumbered 1, 2, 3... so that the ids do not
tell how many records are not public.

Publishing needs the ``export`` right and the publish right (``statement.publish``): putting
something on the public side is the coordinator's and administrator's job (DESIGN.md). A refused
call writes nothing; the file and its metadata are written under temporary names and moved into
place together at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.directory import Directory, Entry
from sillok.errors import InvalidInput
from sillok.names import person_romanizations
from sillok.records import opendata_tables as layout
from sillok.records.morphemes import Morphemes, dictionary_words
from sillok.records.opendata_tables import Publication
from sillok.records.statements import PublishRightNeeded
from sillok.romanization import fold, is_hangul, word_romanizations
from sillok.security.policy import ANONYMOUS, REDACTED, Access, access, may, may_see, redact_row
from sillok.security.seal import is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store.opendata import write_tables

if TYPE_CHECKING:
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

AUDIENCE = ANONYMOUS
"""Whom the open data is for: the visitor with no login."""

RIGHTS = ("export", "statement.publish")
"""The rights a role needs to publish open data (both, checked with the policy)."""

BATCH = 2000


class OutputExists(InvalidInput):
    """The open-data file or its metadata file exists and ``force`` was not given."""


@dataclass(frozen=True)
class PublishReport:
    """What ``publish`` wrote."""

    output: Path
    metadata: Path
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"output": str(self.output), "metadata": str(self.metadata), "rows": self.counts}


def metadata_path(output: Path) -> Path:
    """The metadata file beside ``output``: ``FILE.db`` -> ``FILE.metadata.yml``."""
    return output.with_name(f"{output.stem}.metadata.yml")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def fields(table: str, row: Any, columns: Iterable[str], sharing: str | None) -> dict[str, Any]:
    """The ``columns`` of ``row`` as the anonymous visitor may read them at ``sharing``: what
    the policy redacts, and any sealed value, is ``None`` (``date_edtf`` is named ``date``)."""
    shown = redact_row(AUDIENCE, table, {c: getattr(row, c) for c in columns}, sharing=sharing)
    return {
        c.removesuffix("_edtf"): None if v == REDACTED or is_sealed(v) else _iso(v)
        for c, v in shown.items()
    }


def _readable(sharing: str | None, table: str, column: str) -> bool:
    return access(AUDIENCE, sharing, table, column) is not Access.REDACT


class _Numbers:
    """New ids 1, 2, 3... for the archive ids of one kind, in the archive's order."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.of = {old: new for new, old in enumerate(sorted(set(ids)), start=1)}

    def __call__(self, old: int | None) -> int | None:
        return self.of.get(old) if old is not None else None


class OpenData:
    """``sillok publish data``: the public records of an archive as an open-data file."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records

    def check(self, output: Path, force: bool = False) -> None:
        """Refuse, before anything is written, a role without the rights or an existing file.

        Raises:
            PublishRightNeeded: naming the role and the right it lacks.
            OutputExists: naming the file, when it or its metadata exists without ``force``.
            InvalidInput: the folder to write in does not exist.
        """
        role = self.vault.role
        for right in RIGHTS:
            if not may(role, right):
                raise PublishRightNeeded(f"the {role} role may not publish open data ({right})")
        if not output.parent.is_dir():
            raise InvalidInput(f"{output.parent}: no such folder to write {output.name} in")
        for path in (output, metadata_path(output)):
            if path.exists() and not force:
                raise OutputExists(f"{path} exists: use --force to replace it")
            if path.is_dir():
                raise OutputExists(f"{path} is a folder")

    def publish(
        self,
        output: Path,
        force: bool = False,
        publication: Publication | None = None,
        with_names: bool = False,
    ) -> PublishReport:
        """Write the open-data file ``output`` and its metadata file (:func:`metadata_path`).

        By default no person is named (each is a pseudonym); ``with_names`` also names a person
        wherever the public pages name them (never a protected person): a deliberate choice.

        Raises:
            PublishRightNeeded, OutputExists: see :meth:`check`; nothing is written.
        """
        output = Path(output)
        self.check(output, force)
        publication = publication or Publication()
        meta = metadata_path(output)
        stamp = f"{os.getpid()}-{os.urandom(4).hex()}"
        db_tmp = output.with_name(f".{output.name}.{stamp}.tmp")
        meta_tmp = meta.with_name(f".{meta.name}.{stamp}.tmp")
        try:
            counts = write_tables(db_tmp, self.tables(with_names))
            meta_tmp.write_text(layout.metadata_yaml(output.stem, publication), encoding="utf-8")
            os.replace(db_tmp, output)
            os.replace(meta_tmp, meta)
        finally:
            db_tmp.unlink(missing_ok=True)
            meta_tmp.unlink(missing_ok=True)
        self.vault.audit.record(
            "export", detail={"format": "open data", "rows": counts.get("acts", 0)}
        )
        return PublishReport(output, meta, counts)

    def tables(
        self, with_names: bool = False
    ) -> list[tuple[layout.OpenTable, Iterable[Mapping[str, Any]]]]:
        """Every table of the open data with its rows, in the order they are written."""
        found = self._collect(named=with_names)
        places, orgs = self.vault.places, self.vault.organizations
        place_ids = _with_ancestors(places, found.places | _vocabulary_ids(places))
        org_ids = found.organizations | _vocabulary_ids(orgs)
        number = {
            "place": _Numbers(place_ids),
            "organization": _Numbers(org_ids),
            "person": _Numbers(found.persons),
            "event": _Numbers(found.events),
            "source": _Numbers(found.sources),
            "act": _Numbers(a["id"] for a in found.acts),
        }
        # Words Kiwi must not cut: every name the directories know and the vocabularies' terms
        # (they only guide the splitting of published text; none is written for itself).
        words = dictionary_words(
            [n for e in (*places.by_id.values(), *orgs.by_id.values()) for n in e.names()]
            + [t for e in (*places.by_id.values(), *orgs.by_id.values()) for t in e.tokens]
            + [t.label("ko") for v in ("act_types", "facility_types") for t in vocab.load(v)]
            + [n for p in found.persons.values() for n, _s in p["names"]]
        )
        morphemes = Morphemes(words)
        act_rows = [self._act_row(a, found, number, morphemes) for a in found.acts]
        return [
            *layout.vocabulary_tables(),
            (layout.PLACES, _directory_rows(
                layout.PLACES, places, sorted(place_ids), number["place"]
            )),
            (layout.ORGANIZATIONS, _directory_rows(
                layout.ORGANIZATIONS, orgs, sorted(org_ids), number["organization"]
            )),
            (layout.PERSONS, _person_rows(found.persons, number, morphemes)),
            (layout.EVENTS, _event_rows(found.events, number, morphemes)),
            (layout.SOURCES, _renumbered(found.sources, number["source"])),
            (layout.ACTS, act_rows),
            (layout.ACT_PERPETRATORS, _perpetrator_rows(found.perpetrators, number)),
            (layout.ACT_SOURCES, [
                {"act_id": number["act"](a), "source_id": number["source"](s)}
                for a, s in found.act_sources
            ]),
        ]

    def _collect(self, named: bool = True) -> _Found:
        """The public acts and what they refer to, as the anonymous visitor may see them
        (persons as pseudonyms only, unless ``named``)."""
        found = _Found(named=named)
        with self.vault.store.reading() as conn:
            for batch in queries.act_batches(conn, BATCH):
                shown = [a for a in batch if may_see(AUDIENCE, a.sharing)]
                if shown:
                    self._collect_batch(conn, shown, found)
        return found

    def _collect_batch(self, conn: Any, acts: list[Any], found: _Found) -> None:
        ids = [a.id for a in acts]
        perps = queries.perpetrators_of_acts(conn, ids)
        source_ids = queries.sources_of_acts(conn, ids)
        events = store_rows.get_many(conn, "event", [a.event_id for a in acts if a.event_id])
        sources = store_rows.get_many(conn, "source", [s for ss in source_ids.values() for s in ss])
        person_ids = [a.victim_id for a in acts if a.victim_id]
        person_ids += [p for ps in perps.values() for _o, p, _r in ps if p]
        people = store_rows.get_many(conn, "person", person_ids)
        names = queries.names_of_persons(conn, person_ids)
        for act in acts:
            level = act.sharing
            row = fields("acts", act, layout.ACT_FIELDS, level)
            event = events.get(act.event_id) if act.event_id else None
            if event is not None and may_see(AUDIENCE, event.sharing):
                shown = fields("events", event, layout.EVENT_FIELDS, event.sharing)
                found.events.setdefault(event.id, shown)
                if shown["place_id"]:
                    found.places.add(shown["place_id"])
            else:
                row["event_id"] = None
            if act.victim_id:
                # a victim the visitor may not identify is still linked, by a pseudonym (as
                # the policy's redaction does), so that acts about one person can be counted
                self._person(people[act.victim_id], names, level, found,
                             identified=_readable(level, "acts", "victim_id"))
                row["victim_id"] = act.victim_id
            for column in ("place_id", "facility_id"):
                if row[column]:
                    found.places.add(row[column])
            for oid, pid, role in perps.get(act.id, []):
                if pid:
                    self._person(people[pid], names, level, found, identified=True)
                if oid:
                    found.organizations.add(oid)
                    found.agencies.setdefault(act.id, []).append(oid)
                found.perpetrators.append((act.id, oid, pid, role))
            for sid in source_ids.get(act.id, []):
                source = sources[sid]
                if may_see(AUDIENCE, source.sharing):
                    found.sources.setdefault(
                        sid, fields("sources", source, layout.SOURCE_FIELDS, source.sharing)
                    )
                    found.act_sources.append((act.id, sid))
            found.acts.append(row)

    def _person(
        self, person: Any, names: Mapping[int, list[tuple[str, str, str]]], level: str,
        found: _Found, identified: bool,
    ) -> None:
        """Add a person reached through a public record: a pseudonym, and, where the visitor
        may read them there and the person is not protected, their names and details."""
        entry = found.persons.setdefault(person.id, {
            "pseudonym": self.vault.disclosure.pseudonym("persons", person.id),
            "named": not person.protected,
            "names": [],
            "details": {} if person.protected else fields(
                "persons", person, layout.PERSON_FIELDS, level
            ),
        })
        readable = found.named and identified and _readable(level, "person_names", "name")
        entry["named"] = entry["named"] and readable
        if entry["details"]:
            # what every record that reaches the person lets the visitor read, and no more
            here = fields("persons", person, layout.PERSON_FIELDS, level)
            entry["details"] = {k: v if here[k] is not None else None
                                for k, v in entry["details"].items()}
        if entry["details"].get("origin_place_id"):
            found.places.add(entry["details"]["origin_place_id"])
        if entry["named"] and not entry["names"]:
            entry["names"] = [
                (n, script) for n, script, _k in names.get(person.id, []) if not is_sealed(n)
            ]

    def _act_row(
        self, act: dict[str, Any], found: _Found, number: Mapping[str, _Numbers], m: Morphemes
    ) -> dict[str, Any]:
        places, orgs = self.vault.places, self.vault.organizations
        act_type = _term("act_types", act["act_type"])
        facility_type = _term("facility_types", act["facility_type"])
        victim = found.persons.get(act["victim_id"]) if act["victim_id"] else None
        victim_names = [n for n, _s in victim["names"]] if victim and victim["named"] else []
        entries = [places.get(act["place_id"]), places.get(act["facility_id"])]
        entries += [orgs.get(o) for o in found.agencies.get(act["id"], [])]
        event = found.events.get(act["event_id"]) if act["event_id"] else None
        event_title = event["title"] if event else None
        korean = [act["description"], event_title, *victim_names]
        korean += [t.label("ko") for t in (act_type, facility_type) if t]
        korean += [e.name_ko for e in entries if e]
        return {
            **act,
            "id": number["act"](act["id"]),
            "event_id": number["event"](act["event_id"]),
            "victim_id": number["person"](act["victim_id"]),
            "place_id": number["place"](act["place_id"]),
            "facility_id": number["place"](act["facility_id"]),
            "search_ko": m.text(*korean),
            "search_latin": latin_spellings(
                [act["description"], event_title, *victim_names,
                 *(s for t in (act_type, facility_type) if t for s in (t.label("en"), *t.aliases))],
                [e for e in entries if e],
            ),
        }


@dataclass
class _Found:
    """What a pass over the public acts found (archive ids)."""

    named: bool = True  # whether a person may be named at all
    acts: list[dict[str, Any]] = field(default_factory=list)
    persons: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    sources: dict[int, dict[str, Any]] = field(default_factory=dict)
    places: set[int] = field(default_factory=set)
    organizations: set[int] = field(default_factory=set)
    perpetrators: list[tuple[int, int | None, int | None, str]] = field(default_factory=list)
    agencies: dict[int, list[int]] = field(default_factory=dict)  # act -> its organizations
    act_sources: list[tuple[int, int]] = field(default_factory=list)


def latin_spellings(texts: Iterable[str | None], entries: Iterable[Entry] = ()) -> str:
    """The Latin-letter words a search should find a record by: the texts' own words, each
    also folded (``P'yŏngyang`` as ``pyongyang``, ``Yo-jong`` as ``yojong``), the Latin names
    and spellings of the places and organizations, and the romanizations of Hangul names."""
    words: dict[str, None] = {}
    for text in texts:
        for word in (text or "").split():
            if is_hangul(word):
                continue
            words.setdefault(word, None)
            folded = fold(word)
            if folded and folded != word.lower():
                words.setdefault(folded, None)
    for entry in entries:
        for token in sorted(entry.tokens):
            if token.isascii():
                words.setdefault(token, None)
        if entry.name_en:
            words.setdefault(entry.name_en, None)
    return " ".join(words)


def _term(name: str, key: str | None) -> vocab.Term | None:
    if not key:
        return None
    try:
        return vocab.load(name).get(key)
    except KeyError:
        return None


def _vocabulary_ids(directory: Directory) -> set[int]:
    return {e.id for e in directory.by_id.values() if e.vocab_key}


def _with_ancestors(places: Directory, ids: Iterable[int]) -> set[int]:
    return {a.id for i in ids if places.get(i) for a in places.ancestors(i)} | set(ids)


def _directory_rows(
    table: layout.OpenTable, directory: Directory, ids: list[int], number: _Numbers
) -> Iterator[dict[str, Any]]:
    for entry_id in ids:
        entry = directory.get(entry_id)
        if entry is None:
            continue
        row = {
            "id": number(entry.id),
            "key": entry.vocab_key,
            "kind": entry.kind,
            "label": entry.label,
            "name_ko": entry.name_ko,
            "name_en": entry.name_en,
            "aliases": "; ".join(entry.aliases),
            "parent_id": number(entry.parent_id),
            "facility_type": entry.facility_type,
            "unverified": int(entry.unverified),
            "search_latin": latin_spellings([], [entry]),
        }
        yield {k: v for k, v in row.items() if k in table.columns}


def _person_rows(
    persons: Mapping[int, dict[str, Any]], number: Mapping[str, _Numbers], m: Morphemes
) -> Iterator[dict[str, Any]]:
    for pid in sorted(persons):
        person = persons[pid]
        names = person["names"] if person["named"] else []
        hangul = [n for n, s in names if s == "Hang"]
        latin = [n for n, s in names if s != "Hang"]
        details = person["details"]
        spellings = {s for n in hangul for s in _romanizations(n)}
        yield {
            "id": number["person"](pid),
            "pseudonym": person["pseudonym"],
            "label": " / ".join(latin[:1] + hangul[:1]) or person["pseudonym"],
            "named": int(bool(names)),
            "name_hangul": hangul[0] if hangul else None,
            "name_latin": latin[0] if latin else None,
            "names": "; ".join(n for n, _s in names) or None,
            "sex": details.get("sex"),
            "birth": details.get("birth"),
            "birth_lower": details.get("birth_lower"),
            "birth_upper": details.get("birth_upper"),
            "origin_place_id": number["place"](details.get("origin_place_id")),
            "status": details.get("status"),
            "search_ko": m.text(*hangul),
            "search_latin": latin_spellings([*latin, *sorted(spellings)]),
        }


def _romanizations(hangul: str) -> set[str]:
    """Latin spellings of a Hangul name (none when it cannot be romanized as a name)."""
    try:
        return set(person_romanizations(hangul)) | set(word_romanizations(hangul))
    except ValueError:
        return set(word_romanizations(hangul))


def _event_rows(
    events: Mapping[int, dict[str, Any]], number: Mapping[str, _Numbers], m: Morphemes
) -> Iterator[dict[str, Any]]:
    for eid in sorted(events):
        event = events[eid]
        yield {
            **event,
            "id": number["event"](eid),
            "place_id": number["place"](event["place_id"]),
            "search_ko": m.text(event["title"], event["description"]),
            "search_latin": latin_spellings([event["title"], event["description"]]),
        }


def _renumbered(rows: Mapping[int, dict[str, Any]], number: _Numbers) -> Iterator[dict[str, Any]]:
    for rid in sorted(rows):
        yield {**rows[rid], "id": number(rid)}


def _perpetrator_rows(
    perpetrators: list[tuple[int, int | None, int | None, str]], number: Mapping[str, _Numbers]
) -> Iterator[dict[str, Any]]:
    for n, (aid, oid, pid, role) in enumerate(perpetrators, start=1):
        yield {
            "id": n,
            "act_id": number["act"](aid),
            "organization_id": number["organization"](oid),
            "person_id": number["person"](pid),
            "role": role,
        }
