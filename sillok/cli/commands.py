"""Commands on an archive: init, import, search, show, history, stats, export, vocab, demo."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sillok import vocab as vocabularies
from sillok.archive import Archive
from sillok.cli import (
    ArchiveArg,
    JsonOpt,
    PassphraseFile,
    app,
    console,
    friendly_errors,
    open_archive,
    print_json,
    read_passphrase,
)
from sillok.errors import InvalidInput
from sillok.records import esf, uwazi_files
from sillok.records.export import DOWNLOAD_FORMATS
from sillok.records.ingest import ImportReport
from sillok.records.mapping import ColumnMapping
from sillok.records.search import SearchRequest
from sillok.records.spreadsheets import MappedImport, Spreadsheets
from sillok.records.stats import GROUPINGS

#: export formats written to a file (--output): format -> the library call
FILE_EXPORTS = ("uwazi", "esf")  # formats written to a file (--output)


@app.command()
@friendly_errors
def init(
    archive: Path = ArchiveArg,
    database: str = typer.Option(
        None, "--database", help="Keep the data in PostgreSQL (postgresql://...) instead."
    ),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Create a new, empty archive (an encrypted SQLCipher file in the folder)."""
    passphrase = read_passphrase(passphrase_file, confirm=True)
    with Archive.create(archive, passphrase, database=database) as created:
        store = created.store.dialect.name
    console.print(f"Created archive {archive} ({store}).")


@app.command("import")
@friendly_errors
def import_(
    archive: Path = ArchiveArg,
    file: Path = typer.Argument(
        ..., help="A flat acts file: .csv, .jsonl or .xlsx.", dir_okay=False
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows; write the invalid ones to a file."
    ),
    rejects: Path = typer.Option(None, "--rejects", help="Where rejected rows go.", dir_okay=False),
    mapping: Path = typer.Option(
        None, "--map", help="A YAML mapping of a spreadsheet's own columns.", dir_okay=False
    ),
    suggest_map: bool = typer.Option(
        False, "--suggest-map", help="Propose a mapping of FILE's columns; import nothing."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="With --suggest-map: write the mapping here.", dir_okay=False
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
    fmt: str = typer.Option(
        "flat", "--format", help="flat (a flat acts file) or uwazi (an Uwazi CSV import zip)."
    ),
) -> None:
    """Import a flat acts file (one row per act), a spreadsheet of your own through a column
    mapping (--map, --suggest-map), or an Uwazi CSV import zip (--format uwazi). Nothing is
    written if a row is invalid."""
    if fmt not in ("flat", "uwazi"):
        raise typer.BadParameter(f"{fmt!r} is not flat or uwazi", param_hint="--format")
    if fmt == "uwazi":
        if mapping is not None or suggest_map:
            raise typer.BadParameter("--map and --suggest-map are for spreadsheets, not uwazi")
        _import_uwazi(archive, file, skip_invalid, as_json, passphrase_file)
        return
    if output is not None and not suggest_map:
        raise typer.BadParameter("--output writes the mapping --suggest-map proposes")
    if suggest_map:
        _suggest_map(archive, file, mapping, output, as_json, passphrase_file)
        return
    column_map = ColumnMapping.from_file(mapping) if mapping is not None else None
    with open_archive(archive, passphrase_file) as opened, _progress(file) as advance:
        done = Spreadsheets(opened.vault, opened.ingest).run(
            file, column_map, mapping.name if mapping else "", skip_invalid, rejects, advance
        )
    if as_json:
        print_json(done.to_json())
        return
    _say_mapping(done)
    _print_report(done.report, file, as_json=False)


def _import_uwazi(
    archive: Path, file: Path, skip_invalid: bool, as_json: bool, passphrase_file: Path
) -> None:
    """``import --format uwazi``: an Uwazi zip, all rows or none."""
    if skip_invalid:
        raise typer.BadParameter("not with --format uwazi", param_hint="--skip-invalid")
    with open_archive(archive, passphrase_file) as opened:
        report = uwazi_files.import_zip(opened.ingest, file)
    _print_report(report, file, as_json)
    if not as_json and report.created.get("attachment"):
        console.print(f"  files attached: {report.created['attachment']}")


def _print_report(report: ImportReport, file: Path, as_json: bool) -> None:
    """An import's report, as JSON or as lines."""
    if as_json:
        print_json(report.to_json())
        return
    console.print(f"Imported {report.valid_rows} of {report.rows} rows from {file.name}.")
    for kind in ("source", "event", "person", "act"):
        console.print(
            f"  {kind}s: {report.created.get(kind, 0)} new, {report.updated.get(kind, 0)} updated"
        )
    for kind, name in report.unverified:
        console.print(f"  added unverified {kind}: {name}")
    if report.invalid_rows:
        console.print(f"  {report.invalid_rows} invalid rows written to {report.rejects_file}")
        for error in report.errors[:20]:
            console.print(f"    {error}")


def _suggest_map(
    archive: Path,
    file: Path,
    mapping: Path | None,
    output: Path | None,
    as_json: bool,
    passphrase_file: Path | None,
) -> None:
    """``import --suggest-map``: print the proposed mapping (or write it to ``output``)."""
    if mapping is not None:
        raise typer.BadParameter("--suggest-map proposes a mapping: leave out --map")
    with open_archive(archive, passphrase_file) as opened:
        proposed = Spreadsheets(opened.vault, opened.ingest).suggest(file)
    if as_json:
        print_json(proposed.to_json())
    elif output is None:
        console.print(proposed.to_yaml(), markup=False, soft_wrap=True, end="")
    if output is not None:
        output.write_text(proposed.to_yaml(), encoding="utf-8")
        console.print(
            f"Wrote the proposed mapping to {output}: check it, then import with --map {output}.",
            markup=False,
            soft_wrap=True,
        )
    if proposed.unmapped and not as_json:
        console.print(f"Not mapped: {', '.join(proposed.unmapped)}", markup=False, soft_wrap=True)


def _say_mapping(done: MappedImport) -> None:
    """Say how a file's columns were read (a saved mapping is named: it was not asked for)."""
    if done.used == "saved" and done.saved is not None:
        console.print(
            f"Using the mapping saved for these columns on {done.saved.get('saved_at')} "
            f"by {done.saved.get('saved_by')}.",
            markup=False,
            soft_wrap=True,
        )
    if done.kept:
        kept = ", ".join(done.kept)
        console.print(f"Kept in the description: {kept}", markup=False, soft_wrap=True)
    if done.ignored:
        ignored = ", ".join(done.ignored)
        console.print(f"Ignored (as the mapping says): {ignored}", markup=False, soft_wrap=True)
    if done.used == "given":
        console.print("The mapping is saved for files with these columns.", soft_wrap=True)


def _progress(file: Path) -> ProgressBar:
    """A progress bar over the rows of a file (counted up front for CSV and JSON lines)."""
    total = None
    if file.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json") and file.is_file():
        with open(file, "rb") as fh:
            total = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return ProgressBar(total)


class ProgressBar:
    """A transient progress bar over rows; entering it gives the function to advance it."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.bar = Progress(
            TextColumn("importing"),
            BarColumn(),
            TextColumn("{task.completed} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("import", total=self.total)

    def __enter__(self) -> Any:
        self.bar.start()
        return lambda rows: self.bar.update(self.task, completed=rows)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


@app.command()
@friendly_errors
def search(
    archive: Path = ArchiveArg,
    query: str = typer.Argument("", help="Words in Hangul or Latin letters (any romanization)."),
    act_type: str = typer.Option(None, "--act-type", help="Only acts of this type (or category)."),
    date_from: str = typer.Option(
        None, "--from", help="Only acts whose date may fall on or after this (2009, 2009년 봄)."
    ),
    date_to: str = typer.Option(
        None, "--to", help="Only acts whose date may fall on or before this (2009-03)."
    ),
    place: str = typer.Option(None, "--place", help="Only acts in this place or inside it."),
    facility: str = typer.Option(None, "--facility", help="Only acts in this facility or type."),
    agency: str = typer.Option(None, "--agency", help="Only acts with this perpetrator agency."),
    sort: str = typer.Option(
        "relevance", "--sort", help="relevance, date_asc or date_desc (by earliest possible day)."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="The most hits to list."),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Write every act found to this .csv or .xlsx file (flat acts format; audited).",
        dir_okay=False,
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Find sources, events, acts and persons by text and names, across scripts."""
    fmt = output.suffix.lower().lstrip(".") if output is not None else None
    if fmt is not None and fmt not in DOWNLOAD_FORMATS:
        raise InvalidInput(f"--output: {str(output)!r} does not end in .csv or .xlsx")
    request = SearchRequest(
        query=query,
        act_type=act_type,
        date_from=date_from,
        date_to=date_to,
        place=place,
        facility=facility,
        agency=agency,
        sort=sort,
    )
    with open_archive(archive, passphrase_file) as opened:
        results = opened.searcher.results(request, counted=False)
        if output is not None and fmt is not None:
            asked = {"q": query, "sort": sort, "from": date_from or "", "to": date_to or ""}
            pieces = opened.exports.download(fmt, results.act_ids, asked)
            _write_whole(output, pieces)
            console.print(f"Wrote {len(results.act_ids)} acts to {output}.")
            return
        # a person reads the table: dates as people write them (spring 2009, the 1990s), not
        # as stored (2009-21, 199X); JSON keeps the stored forms for programs
        hits = opened.searcher.titled(results.hits[:limit], None if as_json else "en")
    if as_json:
        print_json([h.to_json() for h in hits])
        return
    total = len(results.found)
    shown = f"{len(hits)} of {total}" if total > len(hits) else str(total)
    table = Table("kind", "id", "title", title=f"{shown} hits for {query!r}")
    for hit in hits:
        table.add_row(hit.kind, str(hit.id), hit.title)
    console.print(table)


def _write_whole(output: Path, pieces: Iterator[bytes]) -> None:
    """Write a file whole or not at all: beside it first, then put in its place."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        with open(partial, "wb") as out:
            for piece in pieces:
                out.write(piece)
        partial.replace(output)
    except OSError as exc:
        raise InvalidInput(f"--output: cannot write {output} ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)


@app.command()
@friendly_errors
def show(
    archive: Path = ArchiveArg,
    kind: str = typer.Argument(..., help="source, event, act, person, place or organization."),
    record_id: int = typer.Argument(..., help="The record's id."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Show one record in full."""
    with open_archive(archive, passphrase_file) as opened:
        record = opened.records.show(kind, record_id)
    if as_json:
        print_json(record)
        return
    table = Table("field", "value", title=f"{record['kind']} {record_id}", show_header=False)
    for key, value in record.items():
        if value not in (None, "", [], "[]"):
            table.add_row(
                key,
                json.dumps(value, ensure_ascii=False)
                if isinstance(value, list | dict)
                else str(value),
            )
    console.print(table)


@app.command()
@friendly_errors
def history(
    archive: Path = ArchiveArg,
    kind: str = typer.Argument(..., help="The record kind."),
    record_id: int = typer.Argument(..., help="The record's id."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Show every version of a record: who changed what, and when."""
    with open_archive(archive, passphrase_file) as opened:
        versions = opened.records.history(kind, record_id)
    if as_json:
        print_json(versions)
        return
    previous: dict[str, Any] = {}
    for version in versions:
        console.print(
            f"version {version['version']}  by {version['updated_by']} at {version['updated_at']}"
        )
        for key, value in version.items():
            if key.startswith("_") or key in ("version", "updated_by", "updated_at"):
                continue
            if previous and previous.get(key) != value:
                console.print(f"  {key}: {previous.get(key)!r} -> {value!r}")
        previous = version


@app.command()
@friendly_errors
def stats(
    archive: Path = ArchiveArg,
    by: str = typer.Option("act_type", "--by", help=f"One of {', '.join(GROUPINGS)}."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Count acts by act type, year, province, facility type or agency."""
    with open_archive(archive, passphrase_file) as opened:
        rows = opened.stats.count(by)
    if as_json:
        print_json(rows)
        return
    table = Table(by, "count", title=f"acts by {by}")
    for row in rows:
        table.add_row(row["label"], str(row["count"]))
    console.print(table)


@app.command()
@friendly_errors
def export(
    archive: Path = ArchiveArg,
    fmt: str = typer.Option(
        "json",
        "--format",
        help="json (JSON lines) or csv; uwazi (an Uwazi CSV import zip) or esf (HURIDOCS "
        "Events Standard Formats as JSON), both with --output.",
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write here instead of stdout.", dir_okay=False
    ),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Export every act in the flat acts format (import reads it back). Informants are left out."""
    if fmt in FILE_EXPORTS:
        if output is None:
            raise typer.BadParameter(f"--format {fmt} writes a file", param_hint="--output")
        with open_archive(archive, passphrase_file) as opened:
            if fmt == "uwazi":
                done = uwazi_files.export_zip(opened.exports, output)
                console.print(
                    f"Exported {done.rows} acts and {done.files} files ({done.file_bytes:,} "
                    f"bytes) to {output}."
                )
                if done.note:
                    console.print(done.note)
                return
            count = esf.export_json(opened.exports, output)
        console.print(f"Exported {count} acts to {output}.")
        return
    with open_archive(archive, passphrase_file) as opened:
        if output is None:
            opened.exports.write(sys.stdout, fmt)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                count = opened.exports.write(out, fmt)
            console.print(f"Exported {count} acts to {output}.")


vocab_app = typer.Typer(
    help="The shipped vocabularies (act types, facility types, agencies, places).",
    no_args_is_help=True,
)
app.add_typer(vocab_app, name="vocab")


@vocab_app.command("list")
@friendly_errors
def vocab_list(
    name: str = typer.Argument(None, help="A vocabulary; without it, the list of vocabularies."),
    lang: str = typer.Option("en", "--lang", help="Label language: en or ko."),
    as_json: bool = JsonOpt,
) -> None:
    """List the vocabularies, or the terms of one."""
    if name is None:
        items = [vocabularies.load(n) for n in vocabularies.VOCABULARY_NAMES]
        if as_json:
            print_json(
                [{"name": v.name, "version": v.version, "terms": len(v.terms)} for v in items]
            )
            return
        table = Table("vocabulary", "version", "terms", "description")
        for v in items:
            table.add_row(v.name, v.version, str(len(v.terms)), v.description.get(lang, ""))
        console.print(table)
        return
    try:
        vocabulary = vocabularies.load(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    if as_json:
        print_json(
            [
                {
                    "key": t.key,
                    "labels": dict(t.labels),
                    "aliases": list(t.aliases),
                    "parent": t.parent,
                    "legal_refs": list(t.legal_refs),
                }
                for t in vocabulary.terms
            ]
        )
        return
    table = Table(
        "key",
        "label",
        "other language",
        "parent",
        "legal references",
        title=f"{vocabulary.name} {vocabulary.version}",
    )
    other = "ko" if lang == "en" else "en"
    for term in vocabulary.terms:
        table.add_row(
            term.key,
            term.label(lang),
            term.label(other),
            term.parent or "",
            ", ".join(term.legal_refs),
        )
    console.print(table)
