"""``sillok publish``: what an archive puts on the public side, as files.

``sillok publish data ARCHIVE --output FILE.db`` writes the public records as a SQLite file made
for Datasette, with ``FILE.metadata.yml`` beside it (:mod:`sillok.records.opendata`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from sillok.cli import (
    ArchiveArg,
    JsonOpt,
    PassphraseFile,
    app,
    console,
    friendly_errors,
    open_archive,
    print_json,
)
from sillok.records.opendata import OpenData, Publication

publish_app = typer.Typer(
    help="Publish what the anonymous visitor may see, as files (open data).",
    no_args_is_help=True,
)
app.add_typer(publish_app, name="publish")

_DEFAULT = Publication()


@publish_app.command("data")
@friendly_errors
def data(
    archive: Path = ArchiveArg,
    output: Path = typer.Option(
        ..., "--output", "-o", help="The SQLite file to write (FILE.db).", dir_okay=False
    ),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
    with_names: bool = typer.Option(
        False,
        "--with-names",
        help="Also name persons where the public pages name them (never a protected one); "
        "by default every person is a pseudonym.",
    ),
    title: str = typer.Option(_DEFAULT.title, "--title", help="Title of the data set."),
    licence: str = typer.Option(_DEFAULT.licence, "--licence", help="Licence of the data."),
    licence_url: str = typer.Option(_DEFAULT.licence_url, "--licence-url", help="Its text."),
    source: str = typer.Option(_DEFAULT.source, "--source", help="Who publishes the data."),
    source_url: str = typer.Option(_DEFAULT.source_url, "--source-url", help="Their site."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write the public records (as the anonymous visitor sees them) as a SQLite file for
    Datasette, with FILE.metadata.yml beside it. Needs the export and publish rights."""
    publication = Publication(
        title=title,
        licence=licence,
        licence_url=licence_url,
        source=source,
        source_url=source_url,
    )
    with open_archive(archive, passphrase_file) as opened:
        report = OpenData(opened.vault, opened.records).publish(
            output, force, publication, with_names
        )
    if as_json:
        print_json(report.to_json())
        return
    rows = report.counts
    console.print(
        f"Wrote {report.output}: {rows.get('acts', 0)} acts, {rows.get('events', 0)} events, "
        f"{rows.get('sources', 0)} sources, {rows.get('persons', 0)} persons; "
        f"metadata in {report.metadata}."
    )
    console.print(f"Browse it: datasette {report.output} --metadata {report.metadata}")
