"""The tables of the open-data file, the vocabularies in Korean and English, and its metadata.

Each table lists its columns, foreign keys, label column (what Datasette shows for a row that
another row points to) and search columns. ``*_FIELDS`` are the archive columns each published
record is read from: a column not listed is never read for publication (informants, narratives,
titles of sources, refs, authors and versions are not listed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sillok import vocab
from sillok.errors import SillokError
from sillok.records.flatacts import PERPETRATOR_ROLES, SEXES, SOURCE_TYPES
from sillok.store.opendata import OpenTable

__all__ = ["OpenTable", "Publication"]


@dataclass(frozen=True)
class Publication:
    """What the metadata file says about the data (Datasette's ``metadata.yml`` keys)."""

    title: str = "Sillok open data"
    description: str = (
        "Public records of a Sillok archive: acts (who did what to whom, when, where), events, "
        "sources, persons (pseudonymised unless public), places, organizations, and the "
        "vocabularies in Korean and English."
    )
    licence: str = "CC BY 4.0"
    licence_url: str = "https://creativecommons.org/licenses/by/4.0/"
    source: str = "Sillok"
    source_url: str = ""


ACT_FIELDS = (
    "id", "act_type", "event_id", "victim_id", "date_edtf", "date_lower", "date_upper",
    "place_id", "facility_id", "facility_type", "description",
)  # fmt: skip
EVENT_FIELDS = ("id", "title", "description", "date_edtf", "date_lower", "date_upper", "place_id")
SOURCE_FIELDS = ("id", "source_type", "date_edtf", "date_lower", "date_upper", "language",
                 "reliability")
PERSON_FIELDS = ("sex", "birth_edtf", "birth_lower", "birth_upper", "origin_place_id", "status")

SEARCH = ("search_ko", "search_latin")
_DATES = {"date": str, "date_lower": str, "date_upper": str}


def _vocabulary_table(
    name: str,
    description: str,
    extra: Mapping[str, type] | None = None,
    foreign_keys: tuple[tuple[str, str, str], ...] = (),
) -> OpenTable:
    return OpenTable(
        name,
        {"key": str, "label": str, "label_ko": str, "label_en": str, **(extra or {})},
        pk="key",
        foreign_keys=foreign_keys,
        label="label",
        description=description,
    )


ACT_TYPES = _vocabulary_table(
    "act_types",
    "Act types (violations), with their category and legal references.",
    {"parent": str, "legal_refs": str, "aliases": str, "deprecated": int},
    (("parent", "act_types", "key"),),
)
FACILITY_TYPES = _vocabulary_table(
    "facility_types", "Types of detention facility.", {"aliases": str, "deprecated": int}
)
SOURCE_TYPES_TABLE = _vocabulary_table("source_types", "Kinds of source.")
SEXES_TABLE = _vocabulary_table("sexes", "Sexes as recorded.")
ROLES_TABLE = _vocabulary_table("perpetrator_roles", "What a perpetrator did (mode of liability).")

_DIRECTORY = {
    "id": int, "key": str, "kind": str, "label": str, "name_ko": str, "name_en": str,
    "aliases": str,
}  # fmt: skip
PLACES = OpenTable(
    "places",
    {**_DIRECTORY, "parent_id": int, "facility_type": str, "unverified": int,
     "search_latin": str},
    foreign_keys=(("parent_id", "places", "id"), ("facility_type", "facility_types", "key")),
    label="label",
    search=("name_ko", "name_en", "aliases", "search_latin"),
    description="Places (country, provinces, counties, facilities) in Korean and English.",
)
ORGANIZATIONS = OpenTable(
    "organizations",
    {**_DIRECTORY, "unverified": int, "search_latin": str},
    label="label",
    search=("name_ko", "name_en", "aliases", "search_latin"),
    description="Organizations: state agencies and units named as perpetrators.",
)
PERSONS = OpenTable(
    "persons",
    {
        "id": int, "pseudonym": str, "label": str, "named": int, "name_hangul": str,
        "name_latin": str, "names": str, "sex": str, "birth": str, "birth_lower": str,
        "birth_upper": str, "origin_place_id": int, "status": str, "search_ko": str,
        "search_latin": str,
    },  # fmt: skip
    foreign_keys=(("sex", "sexes", "key"), ("origin_place_id", "places", "id")),
    label="label",
    search=SEARCH,
    description=(
        "Victims and perpetrators of public acts. Each has a pseudonym; only a person whose "
        "name is public and who is not protected is named."
    ),
)
EVENTS = OpenTable(
    "events",
    {"id": int, "title": str, "description": str, **_DATES, "place_id": int,
     "search_ko": str, "search_latin": str},
    foreign_keys=(("place_id", "places", "id"),),
    label="title",
    search=("title", "description", *SEARCH),
    description="Public events: something that happened, with its acts.",
)
SOURCES = OpenTable(
    "sources",
    {"id": int, "source_type": str, **_DATES, "language": str, "reliability": str},
    foreign_keys=(("source_type", "source_types", "key"),),
    label="source_type",
    description=(
        "Public sources that attest acts: kind, date and language only (never who gave them "
        "or what they said)."
    ),
)
ACTS = OpenTable(
    "acts",
    {
        "id": int, "act_type": str, "event_id": int, "victim_id": int, **_DATES,
        "place_id": int, "facility_id": int, "facility_type": str, "description": str,
        "search_ko": str, "search_latin": str,
    },  # fmt: skip
    foreign_keys=(
        ("act_type", "act_types", "key"),
        ("event_id", "events", "id"),
        ("victim_id", "persons", "id"),
        ("place_id", "places", "id"),
        ("facility_id", "places", "id"),
        ("facility_type", "facility_types", "key"),
    ),
    label="act_type",
    search=("description", *SEARCH),
    description="Public acts: one violation each (who did what to whom, when, where).",
)
ACT_PERPETRATORS = OpenTable(
    "act_perpetrators",
    {"id": int, "act_id": int, "organization_id": int, "person_id": int, "role": str},
    foreign_keys=(
        ("act_id", "acts", "id"),
        ("organization_id", "organizations", "id"),
        ("person_id", "persons", "id"),
        ("role", "perpetrator_roles", "key"),
    ),
    description="Who did each act: an agency or unit, a person, and their role.",
)
ACT_SOURCES = OpenTable(
    "act_sources",
    {"act_id": int, "source_id": int},
    pk=("act_id", "source_id"),
    foreign_keys=(("act_id", "acts", "id"), ("source_id", "sources", "id")),
    description="Which public sources attest each act.",
)

TABLES = (
    ACT_TYPES, FACILITY_TYPES, SOURCE_TYPES_TABLE, SEXES_TABLE, ROLES_TABLE, PLACES,
    ORGANIZATIONS, PERSONS, EVENTS, SOURCES, ACTS, ACT_PERPETRATORS, ACT_SOURCES,
)  # fmt: skip

COLUMN_NOTES = {
    "date": "EDTF (uncertain dates: 2009-03, 199X, 2010~, 2008/2011)",
    "date_lower": "earliest day the date may be",
    "date_upper": "latest day the date may be",
    "search_ko": "Korean text split into morphemes (Kiwi), for search",
    "search_latin": "Latin spellings and romanizations, for search",
    "pseudonym": "a stable stand-in for the person",
    "named": "1 when the person's names are public",
}


def _choices_rows(table: Mapping[str, tuple[str, ...]]) -> Iterable[dict[str, Any]]:
    """Rows of a choice list of the flat acts format: its first English and Korean spelling."""
    for key, spellings in table.items():
        english = next((s for s in spellings if s.isascii()), key)
        korean = next((s for s in spellings if not s.isascii()), None)
        yield {
            "key": key,
            "label": f"{english} ({korean})" if korean else english,
            "label_ko": korean,
            "label_en": english,
        }


def _term_rows(name: str) -> Iterable[dict[str, Any]]:
    for term in vocab.load(name).terms:
        en, ko = term.labels.get("en"), term.labels.get("ko")
        row: dict[str, Any] = {
            "key": term.key,
            "label": f"{en} ({ko})" if en and ko else en or ko or term.key,
            "label_ko": ko,
            "label_en": en,
            "aliases": "; ".join(term.aliases),
            "deprecated": int(term.deprecated),
        }
        if name == "act_types":
            row["parent"] = term.parent
            row["legal_refs"] = "; ".join(term.legal_refs)
        yield row


def vocabulary_tables() -> list[tuple[OpenTable, Iterable[dict[str, Any]]]]:
    """The vocabularies the records point to, every term in Korean and English."""
    return [
        (ACT_TYPES, _term_rows("act_types")),
        (FACILITY_TYPES, _term_rows("facility_types")),
        (SOURCE_TYPES_TABLE, _choices_rows(SOURCE_TYPES)),
        (SEXES_TABLE, _choices_rows(SEXES)),
        (ROLES_TABLE, _choices_rows(PERPETRATOR_ROLES)),
    ]


def metadata(database: str, publication: Publication) -> dict[str, Any]:
    """Datasette's metadata for the file: title, description, licence, source, and for each
    table its description, label column, column notes and search."""
    tables = {}
    for table in TABLES:
        entry: dict[str, Any] = {"description": table.description}
        if table.label:
            entry["label_column"] = table.label
        notes = {c: COLUMN_NOTES[c] for c in table.columns if c in COLUMN_NOTES}
        if notes:
            entry["columns"] = notes
        tables[table.name] = entry
    about = {
        "title": publication.title,
        "description": publication.description,
        "license": publication.licence,
        "license_url": publication.licence_url,
        "source": publication.source,
        "source_url": publication.source_url,
    }
    return {**{k: v for k, v in about.items() if v}, "databases": {database: {"tables": tables}}}


def metadata_yaml(database: str, publication: Publication) -> str:
    """:func:`metadata` as YAML (PyYAML comes with Datasette, the ``publish`` extra)."""
    try:
        import yaml
    except ImportError:
        raise SillokError(
            "writing the metadata file needs PyYAML: pip install 'sillok[publish]'"
        ) from None
    text: str = yaml.safe_dump(
        metadata(database, publication), allow_unicode=True, sort_keys=False, width=100
    )
    return text
