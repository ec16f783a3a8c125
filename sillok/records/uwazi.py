"""Uwazi's CSV import format, for flat acts rows: the template, the values, the thesauri.

HURIDOCS Uwazi imports a zip holding ``import.csv`` (one entity per row) and the files it names.
Its loader (app/api/csv/ in huridocs/uwazi) matches each header to a template property by the
property's *name*: the header is trimmed, every character but a-z and 0-9 becomes ``_``, and it
is lowercased (``safeName``); ``title`` is always there; a ``__ko``/``__en`` suffix is a
language column. Multiple values are separated by ``|``, a nested thesaurus value is written
``Parent::Child`` (one level), and a date is read as ``YYYY-MM-DD``, ``YYYY/MM/DD``,
``YYYY MM DD``, ``LL`` (``March 15, 2009``) or ``YYYY``; a range as ``from:to`` (Uwazi's own
export writes ``from~to``). A thesaurus CSV has one column per language, headed by the
language's English name, and one term per row, a child term starting with ``-``.

Sillok's template, "Sillok act", has one property per flat acts column
(docs/flat-acts-format.md), named as the column, so one Uwazi entity is one flat row (an act
seen in one source). A date column carries Uwazi's date and a ``..._edtf`` text column the
exact uncertain date. This module is the format only: :mod:`sillok.records.uwazi_files` reads
and writes the zip and runs the import and export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sillok import vocab
from sillok.dates import DateError, parse_date
from sillok.records.flatacts import COLUMNS, REQUIRED, RowError
from sillok.records.withheld import WITHHELD

CSV_NAME = "import.csv"
TEMPLATE_NAME = "template.json"
THESAURI_FOLDER = "thesauri"
TEMPLATE_LABEL = "Sillok act"
#: Uwazi's language keys and the names its thesaurus CSV headers use (shared/languagesList.ts)
LANGUAGES: dict[str, str] = {"en": "English", "ko": "Korean"}
MULTI = "|"
NESTED = "::"
#: columns Uwazi's own CSV export adds, which its import (and Sillok's) passes over
UWAZI_EXPORT_COLUMNS = frozenset({"date_added", "template", "published", "documents"})
#: the columns naming files zipped beside the CSV (importEntity.ts): ``file``, the entity's
#: main document (one name), and ``attachments``, its attachments (``|``-separated); each value
#: is a zip member's whole name. Sillok writes ``attachments`` and reads both.
FILE_COLUMN = "file"
ATTACHMENTS_COLUMN = "attachments"
FILE_COLUMNS = frozenset({FILE_COLUMN, ATTACHMENTS_COLUMN})
#: the zip folder Sillok puts a row's files in: ``files/<kind>/<attachment id>/<file name>``,
#: ``<kind>`` the record of the row the file is on; a file elsewhere is the row's act's
FILES_FOLDER = "files"
FILE_KINDS = ("act", "source", "event", "person")


@dataclass(frozen=True)
class Property:
    """One property of the Uwazi template: its label, name, type and thesaurus."""

    label: str
    type: str  # text, markdown, select, date
    thesaurus: str | None = None

    @property
    def name(self) -> str:
        """The property's name, as Uwazi makes it from the label."""
        return safe_name(self.label)


def safe_name(label: str) -> str:
    """Uwazi's property name for a label or header (templateUtils.safeName)."""
    return re.sub(r"[^a-z0-9]", "_", label.strip(), flags=re.IGNORECASE).lower()


_DATES = ("source_date", "act_date", "victim_birth")
_LIST_COLUMNS = ("victim_aliases", "perpetrator_org", "perpetrator_name", "protected")
_SELECTS = {
    "source_type": "Source type",
    "act_type": "Act type",
    "victim_sex": "Victim sex",
    "perpetrator_role": "Perpetrator role",
    "sharing": "Sharing",
}


def _properties() -> list[Property]:
    found = []
    for column in COLUMNS:
        if column == "informant":  # always protected: never exported, never imported here
            continue
        label = column.replace("_", " ").capitalize()
        if column in _SELECTS:
            found.append(Property(label, "select", _SELECTS[column]))
        elif column in _DATES:
            found += [Property(label, "date"), Property(f"{label} EDTF", "text")]
        else:
            found.append(Property(label, "markdown" if column == "description" else "text"))
    return found


PROPERTIES: tuple[Property, ...] = tuple(_properties())
PROPERTY_NAMES = frozenset(p.name for p in PROPERTIES)
TITLE_COLUMNS = tuple(f"title__{lang}" for lang in ("ko", "en"))
HEADER: tuple[str, ...] = (*TITLE_COLUMNS, *(p.name for p in PROPERTIES), ATTACHMENTS_COLUMN)


def file_member(kind: str, attachment_id: int, filename: str) -> str:
    """The zip member an exported attachment is written to (its file name made safe for a
    zip and for the ``|``-separated column)."""
    name = "".join("_" if c in "|/\\" or not c.isprintable() else c for c in filename)
    name = name.strip()[:200]
    if name in ("", ".", ".."):
        name = f"attachment-{attachment_id}"
    return f"{FILES_FOLDER}/{kind}/{attachment_id}/{name}"


def file_kind(member: str) -> str:
    """The kind of record of its row a file in the zip is attached to (see FILES_FOLDER)."""
    parts = member.split("/")
    if len(parts) >= 3 and parts[0] == FILES_FOLDER and parts[1] in FILE_KINDS:
        return parts[1]
    return "act"


def file_names(cells: Mapping[str, str]) -> list[tuple[str, str]]:
    """The files a row names: (column, zip member name), in the order given."""
    found = []
    if cells.get(FILE_COLUMN):
        found.append((FILE_COLUMN, cells[FILE_COLUMN].strip()))
    found += [(ATTACHMENTS_COLUMN, n) for n in split(cells.get(ATTACHMENTS_COLUMN, ""))]
    return found


def template() -> dict[str, object]:
    """The Uwazi template the CSV fills, to create in Uwazi before importing."""
    return {
        "name": TEMPLATE_LABEL,
        "properties": [
            {"label": p.label, "name": p.name, "type": p.type}
            | ({"content": p.thesaurus} if p.thesaurus else {})
            for p in PROPERTIES
        ],
    }


# --- thesauri ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A thesaurus value: its labels by language, Sillok's key, and its parent's key."""

    labels: Mapping[str, str]
    key: str
    parent: str | None = None


_CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "source_type": [
        ("testimony", "Testimony", "증언"),
        ("interview", "Interview", "면담"),
        ("document", "Document", "문서"),
        ("media_report", "Media report", "언론 보도"),
        ("ngo_report", "NGO report", "NGO 보고서"),
        ("other", "Other", "기타"),
    ],
    "victim_sex": [
        ("male", "Male", "남성"),
        ("female", "Female", "여성"),
        ("unknown", "Unknown", "미상"),
    ],
    "perpetrator_role": [
        ("perpetrator", "Perpetrator", "가해자"),
        ("direct", "Direct perpetrator", "직접 가해자"),
        ("ordered", "Ordered", "지시자"),
        ("superior", "Superior", "상급자"),
        ("accomplice", "Accomplice", "공범"),
    ],
    "sharing": [
        ("confidential", "Confidential", "기밀"),
        ("internal", "Internal", "내부"),
        ("public", "Public", "공개"),
    ],
}


def thesaurus(column: str) -> list[Entry]:
    """The thesaurus of a select column, roots each followed by their children.

    Act types nest one level, as Uwazi allows: a COI category is the parent of every act
    below it, however deep in Sillok's vocabulary.
    """
    if column != "act_type":
        return [Entry({"en": en, "ko": ko}, key) for key, en, ko in _CHOICES[column]]
    acts = vocab.load("act_types")
    entries = []
    for root in acts.terms:
        if root.parent is None and not root.deprecated:
            entries.append(Entry(dict(root.labels), root.key))
            entries += [
                Entry(dict(t.labels), t.key, root.key)
                for t in acts.descendants(root.key)
                if not t.deprecated
            ]
    return entries


class Thesauri:
    """The select columns' thesauri, indexed by Uwazi's normalised labels (any language)."""

    def __init__(self) -> None:
        self.entries = {column: thesaurus(column) for column in _SELECTS}
        self._by_label: dict[str, dict[tuple[str | None, str], Entry]] = {}
        for column, entries in self.entries.items():
            keys = {e.key: e for e in entries}
            index: dict[tuple[str | None, str], Entry] = {}
            for entry in entries:
                parent = keys[entry.parent] if entry.parent else None
                for label in entry.labels.values():
                    for parent_label in parent.labels.values() if parent else (None,):
                        key = _norm(parent_label) if parent_label is not None else None
                        index[(key, _norm(label))] = entry
            self._by_label[column] = index

    def value(self, column: str, key: str, lang: str = "en") -> str:
        """The CSV value for a key: its label, after its parent's for a nested value."""
        entries = {e.key: e for e in self.entries[column]}
        entry = entries.get(key)
        if entry is None:
            return key
        label = entry.labels.get(lang) or entry.labels["en"]
        if entry.parent:
            parent = entries[entry.parent]
            return f"{parent.labels.get(lang) or parent.labels['en']}{NESTED}{label}"
        return label

    def find(self, column: str, parent: str | None, label: str) -> Entry | None:
        """The entry a (parent, label) pair names, in any language, or None."""
        key = _norm(parent) if parent is not None else None
        return self._by_label[column].get((key, _norm(label)))

    def key_of(self, column: str, value: str) -> str:
        """Sillok's key for a CSV value; ValueError saying why it is not in the thesaurus."""
        parts = value.split(NESTED)
        if len(parts) > 2:
            raise ValueError(f"more than one {NESTED!r}: Uwazi nests one level")
        parent, label = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        entry = self.find(column, parent, label)
        if entry is None:
            hint = ""
            nested = [
                e
                for e in self.entries[column]
                if e.parent and _norm(label) in {_norm(x) for x in e.labels.values()}
            ]
            if nested and parent is None:
                hint = f" (write it as {self.value(column, nested[0].key)!r})"
            raise ValueError(f"not in the thesaurus {_SELECTS[column]!r}{hint}")
        return entry.key


def _norm(label: str) -> str:
    """Uwazi's normalizeThesaurusLabel: trimmed and lowercased."""
    return label.strip().lower()


def thesaurus_csv(column: str) -> str:
    """A select column's thesaurus as Uwazi's thesaurus CSV (English and Korean columns)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LANGUAGES[lang] for lang in LANGUAGES)
    for entry in thesaurus(column):
        dash = "- " if entry.parent else ""
        writer.writerow(f"{dash}{entry.labels.get(lang, entry.labels['en'])}" for lang in LANGUAGES)
    return out.getvalue()


def thesaurus_file(column: str) -> str:
    """The zip member a select column's thesaurus is written to."""
    return f"{THESAURI_FOLDER}/{column}.csv"


THESAURUS_FILES = {thesaurus_file(c): c for c in _SELECTS}


def check_thesaurus(name: str, rows: list[list[str]], thesauri: Thesauri) -> list[str]:
    """Problems with a thesaurus CSV from a zip: its shape as Uwazi reads it, and any term
    Sillok's thesaurus for the column does not have (each naming the file, row and value)."""
    column = THESAURUS_FILES[name]
    if not rows:
        return [f"{name}: the file is empty"]
    header = [h.strip() for h in rows[0]]
    langs = {i: lang for i, h in enumerate(header) for lang, n in LANGUAGES.items() if h == n}
    if not langs:
        return [f"{name} row 1: no column headed {' or '.join(LANGUAGES.values())}"]
    problems: list[str] = []
    parent: str | None = None
    for number, cells in enumerate(rows[1:], start=2):
        values = {lang: cells[i].strip() for i, lang in langs.items() if i < len(cells)}
        if not any(values.values()):
            continue
        nested = {v.startswith("-") for v in values.values() if v}
        if len(nested) > 1:
            problems.append(f"{name} row {number}: some values are nested ('-') and some not")
            continue
        is_child = nested.pop()
        for lang, value in values.items():
            label = value[1:].strip() if is_child else value
            if not label:
                continue
            if is_child and parent is None:
                problems.append(f"{name} row {number}: a nested value needs a value above it")
                break
            entry = thesauri.find(column, parent if is_child else None, label)
            if entry is None:
                problems.append(
                    f"{name} row {number}, column {LANGUAGES[lang]}: {label!r} is not in "
                    f"Sillok's thesaurus {_SELECTS[column]!r}"
                )
                break
        if not is_child:
            parent = values.get("en") or next(v for v in values.values() if v)
    return problems


# --- values --------------------------------------------------------------------------------


def uwazi_date(edtf: str) -> str:
    """The date Uwazi keeps for an EDTF date: ``YYYY-MM-DD`` for a known day, ``YYYY`` when
    only the year is sure, else nothing (the ``..._edtf`` column keeps the whole date)."""
    if not edtf or edtf in WITHHELD:
        return edtf
    if re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", edtf):
        return edtf
    try:
        date = parse_date(edtf)
    except DateError:
        return ""
    if date.lower.year == date.upper.year and date.lower.year > 1 and date.upper.year < 9999:
        return f"{date.lower.year:04d}"
    return ""


_MONTHS = {
    m.lower(): n
    for n, m in enumerate(
        (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        start=1,
    )
}
_NUMERIC = re.compile(r"(\d{4})[-/ ](\d{1,2})[-/ ](\d{1,2})")
_WRITTEN = re.compile(r"([A-Za-z]+) (\d{1,2}),? (\d{4})")
UWAZI_DATE_FORMS = "YYYY-MM-DD, YYYY/MM/DD, YYYY MM DD, March 15, 2009 (LL), YYYY, or from:to"


def _one_date(text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return text
    found = _NUMERIC.fullmatch(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
    elif (found := _WRITTEN.fullmatch(text)) and found.group(1).lower() in _MONTHS:
        year, month, day = int(found.group(3)), _MONTHS[found.group(1).lower()], int(found[2])
    else:
        raise ValueError(f"not a date Uwazi reads ({UWAZI_DATE_FORMS})")
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError as exc:
        raise ValueError(f"not a real day ({exc})") from None


def edtf_of_uwazi_date(text: str) -> str:
    """An Uwazi date or date range as EDTF; ValueError if Uwazi would not read it."""
    for separator in ("~", ":"):
        if separator in text:
            start, _, end = text.partition(separator)
            if not start.strip() and not end.strip():
                break
            lower = _one_date(start) if start.strip() else ".."
            upper = _one_date(end) if end.strip() else ".."
            return f"{lower}/{upper}"
    return _one_date(text)


def split(value: str) -> list[str]:
    """The items of a multi-value cell (``|``), stripped, empties left out."""
    return [v.strip() for v in value.split(MULTI) if v.strip()]


def _label(vocabulary: str, value: str, lang: str) -> str:
    terms = vocab.load(vocabulary)
    return terms.get(value).label(lang) if value in terms else value


def entity(row: Mapping[str, str], thesauri: Thesauri) -> dict[str, str]:
    """One flat acts row (as an export wrote it) as a row of ``import.csv``."""
    out: dict[str, str] = {}
    for lang, column in zip(("ko", "en"), TITLE_COLUMNS, strict=True):
        act = _label("act_types", row["act_type"], lang) if row.get("act_type") else ""
        where = _label("places", row.get("place", ""), lang)
        out[column] = " · ".join(p for p in (act, row.get("act_date", ""), where) if p)
    for column in COLUMNS:
        value = row.get(column, "")
        if column == "informant":
            continue
        if column in _SELECTS and value and value not in WITHHELD:
            value = thesauri.value(column, value)
        elif column in _LIST_COLUMNS:
            items = [v.strip() for v in value.split(";") if v.strip()]
            if column == "perpetrator_org":
                items = [_label("agencies", v, "en") for v in items]
            value = MULTI.join(items)
        elif column in ("place", "victim_origin"):
            value = _label("places", value, "en")
        elif column == "facility":
            value = _label("facility_types", _label("places", value, "en"), "en")
        if column in _DATES:
            out[column] = uwazi_date(value)
            out[f"{column}_edtf"] = value
        else:
            out[column] = value
    return out


def entities(rows: Iterable[Mapping[str, str]]) -> Iterator[dict[str, str]]:
    """Flat acts rows as rows of ``import.csv``."""
    thesauri = Thesauri()
    for row in rows:
        yield entity(row, thesauri)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The columns of an ``import.csv``: each header's property name (or None: passed over)."""

    names: tuple[str | None, ...]  # "" for a column without a header


def read_header(cells: list[str], where: str) -> Header:
    """Match headers to the template as Uwazi does; InvalidInput-ready ValueError naming the
    header for one that matches nothing or is given twice."""
    names: list[str | None] = []
    problems = []
    for cell in cells:
        name = safe_name(cell)
        base, _, lang = name.rpartition("__") if "__" in name else (name, "", "")
        if not name:
            names.append("")  # a trailing comma: its values must be empty (checked per row)
        elif name in PROPERTY_NAMES or name in FILE_COLUMNS:
            names.append(name)
        elif name in UWAZI_EXPORT_COLUMNS:
            names.append(None)
        elif name == "title" or (base == "title" and lang in LANGUAGES):
            names.append(name)
        elif base in PROPERTY_NAMES | {"title"}:
            problems.append(
                f"{cell!r} (language {lang!r}: only the title has languages, "
                f"in {', '.join(LANGUAGES)})"
            )
        else:
            problems.append(repr(cell))
    if problems:
        raise ValueError(
            f"{where}: unknown column(s) {', '.join(problems)}; the template's "
            f"properties are: title, {', '.join(p.name for p in PROPERTIES)}"
        )
    given = [n for n in names if n]
    twice = sorted({n for n in given if given.count(n) > 1})
    if twice:
        raise ValueError(f"{where}: column(s) given twice: {', '.join(twice)}")
    titles = [n for n in given if n.startswith("title")]
    if not titles:
        raise ValueError(
            f"{where}: no title column (Uwazi requires one: title, or "
            f"{' and '.join(TITLE_COLUMNS)})"
        )
    if "title" in titles and len(titles) > 1:
        raise ValueError(f"{where}: title mixes a column without a language and columns with one")
    missing = [c for c in REQUIRED if c not in given]
    if missing:
        raise ValueError(f"{where}: required column(s) missing: {', '.join(missing)}")
    return Header(tuple(names))


def flat_row(
    number: int, cells: Mapping[str, str], thesauri: Thesauri
) -> dict[str, str] | list[RowError]:
    """One ``import.csv`` row (property name -> value) as a flat acts row, or its errors
    (the files it names are :func:`file_names`')."""
    errors: list[RowError] = []
    row: dict[str, str] = {}
    if cells.get(""):
        errors.append(
            RowError(number, "(no header)", cells[""], "a value in a column without a header")
        )
    for column in COLUMNS:
        value = cells.get(column, "")
        if column in _DATES:
            value = _date(number, column, value, cells.get(f"{column}_edtf", ""), errors)
        elif value in WITHHELD or not value:
            pass
        elif column in _SELECTS:
            try:
                value = thesauri.key_of(column, value)
            except ValueError as exc:
                errors.append(RowError(number, column, value, str(exc)))
        elif column in _LIST_COLUMNS:
            value = "; ".join(split(value))
        row[column] = value
    return errors or row


def _date(number: int, column: str, shown: str, edtf: str, errors: list[RowError]) -> str:
    """A date from its Uwazi column and its EDTF column: the EDTF, unless the Uwazi date was
    changed (it no longer is the one the EDTF gives), then the Uwazi date."""
    for value in (edtf, shown):
        if value in WITHHELD:  # an export withheld it: the importer leaves the field as it is
            return value
    if edtf:
        try:
            date = parse_date(edtf)
        except DateError as exc:
            errors.append(RowError(number, f"{column}_edtf", edtf, str(exc)))
            return ""
        if not shown or shown == uwazi_date(date.edtf) or shown == uwazi_date(edtf):
            return edtf
    if not shown:
        return ""
    try:
        return edtf_of_uwazi_date(shown)
    except ValueError as exc:
        errors.append(RowError(number, column, shown, str(exc)))
        return ""


__all__ = [
    "ATTACHMENTS_COLUMN",
    "CSV_NAME",
    "FILE_COLUMNS",
    "FILE_KINDS",
    "HEADER",
    "LANGUAGES",
    "PROPERTIES",
    "TEMPLATE_NAME",
    "THESAURUS_FILES",
    "Header",
    "Property",
    "Thesauri",
    "check_thesaurus",
    "edtf_of_uwazi_date",
    "entities",
    "file_kind",
    "file_member",
    "file_names",
    "flat_row",
    "read_header",
    "safe_name",
    "split",
    "template",
    "thesaurus_csv",
    "thesaurus_file",
    "uwazi_date",
]
