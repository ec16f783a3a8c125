"""Importing a flat acts file through the web: upload, see the validation report, then commit.

A spreadsheet of a group's own (columns that are not the flat acts format's) takes one more
step first: the page shows the proposed column mapping (:class:`MappingStep`; the one saved for
the file's layout, or one suggested by :mod:`sillok.records.mapping_suggest`), the user corrects
it in a plain form, and the rows are mapped (:mod:`sillok.records.mapping`) before the same
validation; the errors name the file's own columns. A committed import keeps its mapping for
the layout (:class:`~sillok.records.spreadsheets.Spreadsheets`).

The upload is streamed into a file in the archive's private folder (the format reader takes a
path; see :mod:`sillok.web.evidence`), read into rows at once, and the file is overwritten and
removed before the answer leaves; the rows wait on the server, in the uploader's session,
until they are committed or abandoned. Validation
is the importer's own (:meth:`~sillok.records.ingest.Importer.parse_row`), so the preview and the
import can never disagree about a row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok import vocab
from sillok.errors import InvalidInput
from sillok.messages import Message, not_one_of
from sillok.records.flatacts import COLUMNS, ParsedRow, RowError, read_rows
from sillok.records.ingest import ImportReport
from sillok.records.mapping import (
    FILE_TYPES,
    IGNORE,
    UNMAPPED_CHOICES,
    BoundMapping,
    ColumnMapping,
    is_flat_acts,
    open_table,
)
from sillok.records.mapping_suggest import Suggestion
from sillok.records.spreadsheets import Spreadsheets
from sillok.settings import ReadLimits

if TYPE_CHECKING:
    from sillok.archive import Archive

FORMATS = ("csv", "jsonl", "xlsx")
SHOWN_ERRORS = 200
SAMPLE_ROWS = 5  #: valid rows shown before the import
#: the columns the preview of valid rows shows
SAMPLE_COLUMNS = (
    "source_ref",
    "act_type",
    "act_date",
    "place",
    "victim_name_hangul",
    "victim_name",
)
FIXED_ROWS = 3  #: how many fixed values the mapping form offers
TARGETS = (*COLUMNS, IGNORE)

Rows = list[tuple[int, dict[str, str]]]

#: how errors name the mapping of the page (said in the page's language)
THE_MAPPING = Message("the mapping")


@dataclass
class Preview:
    """An uploaded file, validated and not yet written."""

    id: str
    name: str
    rows: list[tuple[int, dict[str, str]]]
    valid: list[int] = field(default_factory=list)  # indexes into rows
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: int = 0
    new_names: list[tuple[str, str]] = field(default_factory=list)
    #: the step and mapping the rows were read through (a spreadsheet of the group's own)
    step: MappingStep | None = None
    mapping: ColumnMapping | None = None

    def sample(self, size: int = SAMPLE_ROWS) -> list[dict[str, str]]:
        """The first valid rows, as read: what the import would write first."""
        return [self.rows[i][1] for i in self.valid[:size]]

    def to_json(self) -> dict[str, Any]:
        """The validation report as JSON."""
        return {
            "id": self.id,
            "file": self.name,
            "rows": len(self.rows),
            "valid_rows": len(self.valid),
            "invalid_rows": self.invalid_rows,
            "errors": [e.__dict__ for e in self.errors[:SHOWN_ERRORS]],
            "new_names": [{"kind": k, "name": n} for k, n in self.new_names],
            "committed": False,
        }


@dataclass
class MappingStep:
    """A spreadsheet of the group's own, read and waiting for its column mapping."""

    id: str
    name: str
    header: list[str]
    rows: Rows
    suggestion: Suggestion
    mapping: ColumnMapping  # as last chosen (the suggestion's at first)
    bound: BoundMapping | None = None

    def choice(self, column: str) -> str:
        """The field chosen for a column ("" for none)."""
        return self.mapping.columns.get(column) or ""

    def fixed_rows(self) -> list[tuple[str, str]]:
        """The fixed values as the form shows them, padded with empty rows."""
        given = list(self.mapping.fixed.items())
        return given + [("", "")] * max(FIXED_ROWS - len(given), 0)


def format_of_upload(filename: str, declared: str | None = None) -> str:
    """The format of an upload, from an explicit choice or the file name's suffix."""
    if declared:
        if declared not in FORMATS:
            raise InvalidInput(not_one_of(declared, FORMATS, "format"))
        return declared
    suffix = Path(filename).suffix.lower().lstrip(".")
    found = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "xlsx": "xlsx"}
    if suffix not in found:
        raise InvalidInput(
            f"{filename}: unknown file type {suffix or '(none)'!r} (expected .csv, .jsonl or .xlsx)"
        )
    return found[suffix]


def read_upload(
    name: str, path: Path, fmt: str, limits: ReadLimits | None = None
) -> list[tuple[int, dict[str, str]]]:
    """The rows of an uploaded file waiting at ``path`` (named ``name`` by the uploader);
    :class:`InvalidInput` for a file that cannot be read or is past one of ``limits``. The
    caller discards the file."""
    if path.stat().st_size == 0:
        raise InvalidInput(f"{name}: the file is empty")
    readable = path.with_name(f"upload.{fmt}")  # the reader knows the format by the suffix
    if readable != path:
        path.rename(readable)
    try:
        return list(read_rows(readable, limits))
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace(readable.name, name)) from None
    except UnicodeDecodeError:
        # The JSON lines reader lets this one through (reported to the core's maintainers).
        raise InvalidInput(f"{name}: not UTF-8 text") from None


def read_spreadsheet(
    archive: Archive, name: str, path: Path, fmt: str, limits: ReadLimits | None = None
) -> Rows | MappingStep:
    """An uploaded file waiting at ``path``: its rows if it is in the flat acts format (read as
    :func:`read_upload` reads them), else a :class:`MappingStep` with the proposed mapping.
    The caller discards the file."""
    if f".{fmt}" not in FILE_TYPES or path.stat().st_size == 0:
        return read_upload(name, path, fmt, limits)
    readable = path.with_name(f"upload.{fmt}")
    if readable != path:
        path.rename(readable)
    try:
        table = open_table(readable, limits, name)
    except InvalidInput:
        return read_upload(name, readable, fmt, limits)  # the flat acts reader's own words
    if is_flat_acts(table.header):
        table.close()
        return read_upload(name, readable, fmt, limits)
    try:
        rows = list(table.rows)
    finally:
        table.close()
    sheets = Spreadsheets(archive.vault, archive.ingest)
    proposed = sheets.suggest_rows(name, table.header, (r for _, r in rows))
    return MappingStep(
        secrets.token_urlsafe(16), name, table.header, rows, proposed, proposed.mapping
    )


def mapping_of_form(step: MappingStep, form: Any) -> ColumnMapping:
    """The mapping a submitted mapping form chose (``column-N``, ``fixed-N-field``,
    ``fixed-N-value``, ``unmapped``); :class:`InvalidInput` naming the column or field."""
    columns = {h: (form.get(f"column-{i}") or None) for i, h in enumerate(step.header)}
    fixed = {}
    for j in range(FIXED_ROWS):
        target = str(form.get(f"fixed-{j}-field") or "").strip()
        value = str(form.get(f"fixed-{j}-value") or "").strip()
        if target and value:
            if target in fixed:
                raise InvalidInput(f"the mapping: fixed: {target} is given twice")
            fixed[target] = value
    unmapped = form.get("unmapped") or None
    # shown again as sent if it is refused (only a valid one is ever applied or saved)
    step.mapping = ColumnMapping(
        {c: t if t in TARGETS else None for c, t in columns.items()},
        {t: v for t, v in fixed.items() if t in TARGETS},
        unmapped if unmapped in UNMAPPED_CHOICES else None,
    )
    return ColumnMapping.from_dict(
        {"columns": columns, "fixed": fixed, "unmapped": unmapped}, THE_MAPPING
    )


def unmapped_unchosen(step: MappingStep, mapping: ColumnMapping) -> list[str]:
    """The columns a mapping leaves unmapped without saying what becomes of them."""
    return mapping.unmapped_of(step.header) if mapping.unmapped is None else []


def map_rows(step: MappingStep, mapping: ColumnMapping) -> Rows:
    """The step's rows through ``mapping`` (kept on the step as its last choice)."""
    step.mapping = mapping
    bound = mapping.bind(step.header, step.name, THE_MAPPING)
    step.bound = bound
    return [(number, bound.apply(number, row)) for number, row in step.rows]


def preview(
    archive: Archive, name: str, rows: Rows, step: MappingStep | None = None
) -> Preview:
    """Validate every row as the importer would, and list the names it would add; through a
    mapping step, the errors name the file's own columns."""
    importer = archive.ingest
    mapping = step.mapping if step is not None else None
    result = Preview(secrets.token_urlsafe(16), name, rows, step=step, mapping=mapping)
    seen: set[tuple[str, str]] = set()
    for index, (number, raw) in enumerate(rows):
        parsed = importer.parse_row(number, raw)
        if isinstance(parsed, list):
            result.invalid_rows += 1
            if len(result.errors) < SHOWN_ERRORS:
                bound = step.bound if step is not None else None
                result.errors.extend(bound.their_errors(parsed) if bound else parsed)
            continue
        result.valid.append(index)
        for kind, new in _new_names(archive, parsed):
            if (kind, new) not in seen:
                seen.add((kind, new))
                result.new_names.append((kind, new))
    return result


def _new_names(archive: Archive, row: ParsedRow) -> list[tuple[str, str]]:
    raw = row.raw
    found = []
    for column in ("place", "victim_origin"):
        if raw.get(column) and archive.places.resolve(raw[column]) is None:
            found.append(("place", raw[column]))
    facility = raw.get("facility")
    if (
        facility
        and vocab.load("facility_types").lookup(facility) is None
        and archive.places.resolve(facility, facility=True) is None
    ):
        found.append(("facility", facility))
    for org in row.perpetrator_orgs:
        if archive.organizations.resolve(org) is None:
            found.append(("organization", org))
    return found


def commit(archive: Archive, pending: Preview) -> ImportReport:
    """Write the valid rows of a preview (invalid ones are left out, as the report said)."""
    rows = [pending.rows[i] for i in pending.valid]
    if not rows:
        raise InvalidInput(f"{pending.name}: no valid rows to import")
    report = archive.ingest.run_rows(iter(rows), pending.name)
    report.rows = len(pending.rows)
    report.invalid_rows = pending.invalid_rows
    report.errors = list(pending.errors)
    if pending.step is not None and pending.mapping is not None:
        Spreadsheets(archive.vault, archive.ingest).save(pending.step.header, pending.mapping)
    return report


__all__ = [
    "FIXED_ROWS",
    "TARGETS",
    "UNMAPPED_CHOICES",
    "MappingStep",
    "Preview",
    "commit",
    "format_of_upload",
    "map_rows",
    "mapping_of_form",
    "preview",
    "read_spreadsheet",
    "read_upload",
    "unmapped_unchosen",
]


def template_csv() -> bytes:
    """An empty flat acts file: the header row of every column, in order (UTF-8 with a byte
    order mark, so that a spreadsheet program reads Hangul typed into it)."""
    return ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode("utf-8")


def problems_csv(found: Preview, say: Any, words: Any) -> bytes:
    """The invalid rows' problems, one line each (row, column, value, problem: the problem
    said by ``say``, the headings by ``words``, in the page's language), as a CSV file to fix
    the rows by."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([words("Row"), words("Column"), words("Value"), words("Problem")])
    for error in found.errors:
        writer.writerow([error.row, error.column, error.value, say(error.reason)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
