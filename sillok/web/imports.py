"""Importing a flat acts file through the web: upload, see the validation report, then commit.

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
from sillok.records.flatacts import ParsedRow, RowError, read_rows
from sillok.records.ingest import ImportReport
from sillok.settings import ReadLimits

if TYPE_CHECKING:
    from sillok.archive import Archive

FORMATS = ("csv", "jsonl", "xlsx")
SHOWN_ERRORS = 200


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


def format_of_upload(filename: str, declared: str | None = None) -> str:
    """The format of an upload, from an explicit choice or the file name's suffix."""
    if declared:
        if declared not in FORMATS:
            raise InvalidInput(f"format: {declared!r} is not one of {', '.join(FORMATS)}")
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


def preview(archive: Archive, name: str, rows: list[tuple[int, dict[str, str]]]) -> Preview:
    """Validate every row as the importer would, and list the names it would add."""
    importer = archive.ingest
    result = Preview(secrets.token_urlsafe(16), name, rows)
    seen: set[tuple[str, str]] = set()
    for index, (number, raw) in enumerate(rows):
        parsed = importer.parse_row(number, raw)
        if isinstance(parsed, list):
            result.invalid_rows += 1
            if len(result.errors) < SHOWN_ERRORS:
                result.errors.extend(parsed)
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
    return report
