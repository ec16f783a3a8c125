"""Uwazi zips: exporting an archive to one, importing one into an archive.

An export is a zip Uwazi's CSV import takes: ``import.csv`` (the acts the exporting role may
see, redacted for it exactly as the flat acts export redacts: the rows *are* that export's
rows, :meth:`sillok.records.export.Exports.rows`), the select properties' thesauri as Uwazi
thesaurus CSVs under ``thesauri/``, and ``template.json``, the template to create first. It is
audited as an export.

An import reads such a zip, or one a group made in Uwazi with the same template, and turns
each row into a flat acts row (:func:`sillok.records.uwazi.flat_row`), which the flat acts
importer validates and writes in one transaction (:meth:`sillok.records.ingest.Importer.run_rows`):
the same checks, the same all-or-nothing, the same handling of withheld values. The CSV and
thesauri are read in memory, never unpacked, after every member's name is checked (no absolute
path, no ``..``, no link, no encrypted member) and while the bytes they inflate to are counted
against :class:`~sillok.settings.ReadLimits` (``xlsx_inflated_bytes``): a zip bomb is refused
before it has cost more than the limit. Files are streamed from the zip into the sealed store.

Files travel as Uwazi's CSV import takes them (``importEntity.ts`` in huridocs/uwazi): the
``attachments`` column names zip members, ``|``-separated, each matched to a member by its
whole name (``importFile.ts``). The export writes each file of a row's act, source, event and
victim that the role may open (:func:`~sillok.security.policy.may_get_evidence`) as
``files/<kind>/<attachment id>/<name>``, one at a time from the sealed store, and records each
in its chain of custody and the audit trail as a download is recorded. The import checks
every file a row names before anything is written (a plain name, in the zip, within
:class:`FileLimits`), then seals and records them in the import's own transaction: rows and
files, or nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput
from sillok.records import uwazi
from sillok.records.attachments import Attachments, Sealed, capture_metadata, media_type
from sillok.records.flatacts import RowError
from sillok.records.ingest import ImportFailed, ImportReport
from sillok.records.uwazi_zip import ERRORS as _ERRORS
from sillok.records.uwazi_zip import ZipRead, check_rest, csv_rows, read_zip, safe_member
from sillok.records.withheld import WITHHELD
from sillok.records.workbook import printable
from sillok.security.policy import may
from sillok.store import attachments as attachment_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from sillok.records.export import Exports
    from sillok.records.ingest import Importer



# --- export --------------------------------------------------------------------------------


#: media types already compressed: stored in the zip as they are, not deflated again
_STORED_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "video/",
    "audio/mpeg",
    "audio/ogg",
    "audio/flac",
)


@dataclass
class UwaziExport:
    """What an Uwazi export wrote: rows, files (and their bytes), and files withheld."""

    rows: int = 0
    files: int = 0
    file_bytes: int = 0
    withheld: int = 0  # files of exported records the role may not open
    role: str = ""

    @property
    def note(self) -> str:
        """A line on the files left out, or ``""``."""
        if not self.withheld:
            return ""
        return (
            f"{self.withheld} file(s) not exported: the {self.role} role may not open the "
            "evidence of their records (their rows are exported without them)"
        )


@dataclass
class _Files:
    """The attachments of the records an export shows, that the role sees: by record."""

    of: dict[tuple[str, int], list[tuple[Any, bool]]] = field(default_factory=dict)

    @classmethod
    def load(cls, attachments: Attachments) -> _Files:
        found = cls()
        with attachments.vault.store.reading() as conn:
            for row in attachment_rows.attachments_of(conn):
                seen, openable = attachments.access_of(conn, row)
                if seen:
                    found.of.setdefault((row.record_kind, row.record_id), []).append(
                        (row, openable)
                    )
        return found


def export_zip(exports: Exports, output: Path) -> UwaziExport:
    """Write the acts the archive's user may see as an Uwazi import zip, with the files of
    their records the user may open.

    The zip is written beside ``output`` and moved into place whole, so a failed export leaves
    no half-written file; each file is copied into it from the sealed store a chunk at a time.
    The export is audited, and each file in its chain of custody (``opened``) and the audit
    trail (``attachment_get``), as a download is.
    """
    output = Path(output)
    partial = output.with_name(output.name + ".partial")
    attachments = Attachments(exports.vault)
    files = _Files.load(attachments)
    result = UwaziExport(role=exports.vault.role)
    chosen: dict[str, Any] = {}  # zip member -> attachment row, in the order first named
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as book:
            with (
                book.open(uwazi.CSV_NAME, "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
            ):
                writer = csv.DictWriter(text, fieldnames=uwazi.HEADER, lineterminator="\n")
                writer.writeheader()
                thesauri = uwazi.Thesauri()
                withheld: set[int] = set()
                for flat, records in exports.rows_with_records():
                    row = uwazi.entity(flat, thesauri)
                    members = _row_files(flat, records, files, withheld)
                    chosen.update(members)
                    row[uwazi.ATTACHMENTS_COLUMN] = uwazi.MULTI.join(members)
                    writer.writerow(row)
                    result.rows += 1
                result.withheld = len(withheld)
            for name, column in uwazi.THESAURUS_FILES.items():
                book.writestr(name, uwazi.thesaurus_csv(column))
            book.writestr(
                uwazi.TEMPLATE_NAME, json.dumps(uwazi.template(), ensure_ascii=False, indent=2)
            )
            if chosen:
                with attachments.vault.store.reading() as conn:
                    for member, row in chosen.items():
                        _write_file(book, attachments, conn, member, row)
                        result.files += 1
                        result.file_bytes += row.size
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"{output}: cannot write ({exc.strerror})") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    exports.vault.audit.record(
        "export",
        detail={
            "rows": result.rows,
            "format": "uwazi",
            "include_protected": False,
            "files": result.files,
            "files_withheld": result.withheld,
        },
    )
    if chosen:
        attachments.record_opened(
            [row.id for row in chosen.values()],
            f"{socket.gethostname()}:uwazi export {output.name}",
            {"export": "uwazi", "file": output.name},
        )
    return result


def _row_files(
    flat: Mapping[str, str], records: Mapping[str, int], files: _Files, withheld: set[int]
) -> dict[str, Any]:
    """The files a row carries (zip member -> attachment row): those of its act, source,
    event and victim the role may open; the victim's only when the row shows who it is."""
    found: dict[str, Any] = {}
    for kind in uwazi.FILE_KINDS:
        record_id = records.get(kind)
        if record_id is None:
            continue
        if kind == "person" and any(flat.get(c) in WITHHELD for c in ("victim_ref", "victim_name")):
            continue  # a protected or redacted victim: their files could say who they are
        for row, openable in files.of.get((kind, record_id), []):
            if not openable:
                withheld.add(row.id)
                continue
            found[uwazi.file_member(kind, row.id, row.filename or "")] = row
    return found


def _write_file(
    book: zipfile.ZipFile, attachments: Attachments, conn: Connection, member: str, row: Any
) -> None:
    """Copy one attachment into the zip from the sealed store, a chunk at a time."""
    info = zipfile.ZipInfo(member, date_time=time.localtime()[:6])
    stored = str(row.media_type or "").startswith(_STORED_TYPES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    with book.open(info, "w", force_zip64=row.size > (1 << 30)) as target:
        attachments.copy_to(conn, row, target)


@dataclass(frozen=True)
class FileLimits:
    """How large the files an Uwazi zip attaches may be (checked before anything is written).

    Attributes:
        file_bytes: the largest file (the web's ``max_evidence_bytes``, 8 GiB).
        total_bytes: all the files of one zip together.
        ratio: the most a file may inflate to per byte stored in the zip, once past
            ``ratio_floor`` bytes: more is a zip bomb (evidence is mostly compressed already).
        ratio_floor: the size below which a file's ratio is not checked.
    """

    file_bytes: int = 8 << 30
    total_bytes: int = 64 << 30
    ratio: int = 100
    ratio_floor: int = 1 << 20


# --- import --------------------------------------------------------------------------------


def import_zip(
    importer: Importer, path: Path, file_limits: FileLimits | None = None
) -> ImportReport:
    """Import an Uwazi zip into the archive, with the files its rows name: all rows and
    files or, on any error, nothing.

    A row's files (its ``file`` and ``attachments`` columns) are attached to its act, or to
    its source, event or victim when the zip has them under ``files/<kind>/`` (as an export
    writes them). Every file is checked before anything is written; they are sealed and
    recorded in the import's transaction, after its rows (``report.created["attachment"]``).

    Raises:
        InvalidInput: the role may not import (or add files, when the zip has them), or the
            zip, its CSV or its thesauri are refused (the message names the file, member,
            row, column and value).
        ImportFailed: rows or their files are invalid; every bad row, column and value is in
            its report.
    """
    vault = importer.vault
    if not may(vault.role, "import"):
        raise InvalidInput(f"the {vault.role} role may not import records")
    path = Path(path)
    limits = vault.settings.read_limits
    zipped = read_zip(path, limits)
    members = zipped.members
    thesauri = uwazi.Thesauri()
    problems = []
    for name in sorted(set(members) & set(uwazi.THESAURUS_FILES)):
        where = f"{path.name}:{name}"
        rows = [cells for _n, cells in csv_rows(where, members[name], limits)]
        problems += [f"{path.name}:{p}" for p in uwazi.check_thesaurus(name, rows, thesauri)]
    if problems:
        raise InvalidInput("the zip's thesauri are refused:\n  " + "\n  ".join(problems[:50]))
    where = f"{path.name}:{uwazi.CSV_NAME}"
    rows_iter = csv_rows(where, members.pop(uwazi.CSV_NAME), limits)
    first = next(rows_iter, None)
    if first is None:
        raise InvalidInput(f"{where}: the file is empty")
    try:
        header = uwazi.read_header(first[1], f"{where} row 1")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    report = ImportReport(file=where)
    flat: list[tuple[int, dict[str, str]]] = []
    files = _RowFiles(zipped, file_limits or FileLimits())
    attachments = Attachments(vault)
    for number, cells in rows_iter:
        report.rows += 1
        if len(cells) > len(header.names) and any(cells[len(header.names) :]):
            converted: dict[str, str] | list[RowError] = [
                RowError(
                    number,
                    "(beyond the last column)",
                    cells[len(header.names)],
                    f"{len(cells)} values for {len(header.names)} columns",
                )
            ]
        else:
            named: dict[str, str] = {}
            for column, value in zip(header.names, cells, strict=False):
                if column is not None:
                    named[column] = named.get(column, "") or value
            converted = uwazi.flat_row(number, named, thesauri)
            errors = files.add(number, named)
            if errors:
                converted = [*(converted if isinstance(converted, list) else []), *errors]
        if isinstance(converted, list):
            report.invalid_rows += 1
            report.errors.extend(converted)
        else:
            flat.append((number, converted))
    if report.invalid_rows:
        report.valid_rows = report.rows - report.invalid_rows
        raise _failed(ImportFailed(report))
    if files.named:
        files.check_total()
        check_rest(zipped, set(files.infos), limits)
        if not may(vault.role, "attachment.add") or not attachments.can_open:
            raise InvalidInput(
                f"{path.name}: its rows name {len(files.infos)} file(s), and the {vault.role} "
                "role may not add evidence files (import the zip without its file columns)"
            )
    else:
        check_rest(zipped, set(), limits)
    attacher = _Attacher(attachments, zipped, files)
    try:
        report = importer.run_rows(
            flat,
            where,
            rejects=path.with_name(path.name + ".rejects.csv"),
            written=attacher if files.named else None,
        )
    except ImportFailed as exc:
        attacher.discard()
        raise _failed(exc) from None
    except BaseException:
        attacher.discard()
        raise
    if attacher.added:
        report.created["attachment"] = attacher.added
    return report


class _RowFiles:
    """The files an import's rows name, each checked against the zip and the limits."""

    def __init__(self, zipped: ZipRead, limits: FileLimits) -> None:
        self.zipped, self.limits = zipped, limits
        self.named: dict[int, list[tuple[str, str]]] = {}  # row number -> (kind, member)
        self.infos: dict[str, zipfile.ZipInfo] = {}  # every member named, first-named first

    def add(self, number: int, cells: Mapping[str, str]) -> list[RowError]:
        """Check the files one row names; the errors, each naming the row, column, value."""
        errors = []
        for column, name in uwazi.file_names(cells):
            reason = self._refused(name, cells)
            if reason:
                errors.append(RowError(number, column, name, reason))
                continue
            self.infos.setdefault(name, self.zipped.infos[name])
            self.named.setdefault(number, []).append((uwazi.file_kind(name), name))
        return errors

    def _refused(self, name: str, cells: Mapping[str, str]) -> str | None:
        if not safe_member(name) or not name.isprintable():
            return (
                "refused name (an absolute path, a drive, '..', a backslash or a control character)"
            )
        info = self.zipped.infos.get(name)
        if info is None or info.is_dir():
            return f"no such file in {self.zipped.path.name}"
        limits = self.limits
        if info.file_size > limits.file_bytes:
            return (
                f"{info.file_size:,} bytes, more than {limits.file_bytes:,} (the limit "
                "FileLimits.file_bytes)"
            )
        if info.file_size > limits.ratio_floor and (
            info.file_size > limits.ratio * max(info.compress_size, 1)
        ):
            return (
                f"inflates {info.file_size // max(info.compress_size, 1):,} times (to "
                f"{info.file_size:,} bytes), more than {limits.ratio} (a zip bomb: the limit "
                "FileLimits.ratio)"
            )
        kind = uwazi.file_kind(name)
        if kind == "event" and not cells.get("event_ref"):
            return "an event's file, and the row has no event_ref"
        victim = [cells.get(c, "") for c in ("victim_ref", "victim_name")]
        if kind == "person" and not [v for v in victim if v and v not in WITHHELD]:
            return "a victim's file, and the row names no victim"
        return None

    def check_total(self) -> None:
        total = sum(i.file_size for i in self.infos.values())
        if total > self.limits.total_bytes:
            raise InvalidInput(
                f"{self.zipped.path.name}: its files inflate to {total:,} bytes, more than "
                f"{self.limits.total_bytes:,} (the limit FileLimits.total_bytes)"
            )


class _Attacher:
    """Seals and records an import's files in its transaction, once its rows are written."""

    def __init__(self, attachments: Attachments, zipped: ZipRead, files: _RowFiles) -> None:
        self.attachments, self.zipped, self.files = attachments, zipped, files
        self.sealed: list[Sealed] = []
        self.added = 0

    def __call__(self, conn: Connection, records_of: Mapping[int, Mapping[str, int]]) -> None:
        targets: dict[str, dict[tuple[str, int], None]] = {}  # member -> records, in order
        where = self.zipped.path.name
        for number, named in self.files.named.items():
            for kind, member in named:
                record_id = records_of[number].get(kind)
                if record_id is None:  # a victim only withheld values name
                    raise InvalidInput(
                        f"{where}:{uwazi.CSV_NAME} row {number}: {member!r} is a {kind}'s file, "
                        f"and the row's {kind} is not known; nothing was imported"
                    )
                targets.setdefault(member, {})[(kind, record_id)] = None
        origin = f"{socket.gethostname()}:{where}"
        try:
            with zipfile.ZipFile(self.zipped.path) as book:
                for member, records in targets.items():
                    info = self.files.infos[member]
                    with book.open(info) as source:
                        sealed = self.attachments.seal(source, limit=info.file_size)
                    self.sealed.append(sealed)
                    filename = member.rsplit("/", 1)[-1]
                    media = media_type(Path(filename), sealed.head)
                    captured: tuple[str | None, str | None] = (None, None)
                    if media.startswith("image/"):
                        with book.open(info) as image:
                            captured = capture_metadata(image)
                    stored = self.attachments.keys().find(conn, sealed.sha256)
                    for kind, record_id in records:
                        if stored and _attached(conn, kind, record_id, stored[0], filename):
                            continue  # the zip imported before: the record has the file
                        self.attachments.record(
                            conn,
                            kind,
                            record_id,
                            sealed,
                            filename,
                            media,
                            f"{origin}:{member}",
                            captured,
                        )
                        self.added += 1
                    if sealed.blob is None:  # every record has it already
                        self.attachments.discard(sealed)
        except _ERRORS as exc:
            raise InvalidInput(
                f"{where}: a file could not be read from the zip ({printable(str(exc))}); "
                "nothing was imported"
            ) from None

    def discard(self) -> None:
        """Remove the files sealed for an import that did not commit."""
        for sealed in self.sealed:
            self.attachments.discard(sealed)


def _attached(conn: Connection, kind: str, record_id: int, blob: str, filename: str) -> bool:
    """Whether a record has an equal file (the same stored blob) under this name."""
    return any(
        row.blob_name == blob and row.filename == filename
        for row in attachment_rows.attachments_of(conn, kind, record_id)
    )


def _failed(exc: ImportFailed) -> ImportFailed:
    """The failure without its hint at ``--skip-invalid``, which an Uwazi import does not take:
    a zip is imported whole or not at all."""
    exc.args = (str(exc).replace(" (use --skip-invalid to import the valid rows)", ""),)
    return exc


__all__ = ["FileLimits", "UwaziExport", "export_zip", "import_zip"]
