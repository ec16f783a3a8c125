"""`sillok demo` (a synthetic archive) and `sillok tour` (what `make run` shows)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from sillok.archive import Archive
from sillok.cli import ArchiveArg, PassphraseFile, app, console, friendly_errors, read_passphrase
from sillok.cli.commands import ProgressBar
from sillok.cli.links import show_candidate
from sillok.demo import open_or_create, populate

TOUR_QUERIES = ("요덕", "Yodok")


@app.command()
@friendly_errors
def demo(
    archive: Path = ArchiveArg,
    size: int = typer.Option(1000, "--size", min=1, help="How many acts to generate."),
    seed: int = typer.Option(1, "--seed", help="The same seed gives the same archive."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Fill an archive (created if missing) with synthetic, realistic testimonies."""
    passphrase = read_passphrase(passphrase_file)
    with ProgressBar(size) as advance:
        opened, created = open_or_create(archive, passphrase, size, seed, progress=advance)
        with opened:
            if not created:
                populate(opened, size, seed, advance)
            counts = opened.stats.archive_counts()
    console.print(f"Demo archive {archive}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@app.command()
@friendly_errors
def tour(
    archive: Path = ArchiveArg,
    size: int = typer.Option(2000, "--size", min=1, help="Acts in a new demo archive."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """A short tour: counts, a search in Korean and in Latin letters, one record in full, and
    the persons that record linkage finds reported more than once.

    Creates a demo archive first if the folder holds none.
    """
    passphrase = read_passphrase(passphrase_file)
    with ProgressBar(size) as advance:
        opened, created = open_or_create(archive, passphrase, size, 1, progress=advance)
    with opened:
        if created:
            console.print(f"Created a demo archive of {size} synthetic acts in {archive}.")
        counts = opened.stats.archive_counts()
        console.print("[bold]Counts[/bold]: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        by_type = opened.stats.count("act_type")[:5]
        table = Table("act type", "acts", title="Most reported act types")
        for row in by_type:
            table.add_row(row["label"], str(row["count"]))
        console.print(table)
        first = None
        for query in (*TOUR_QUERIES, _given_name(opened)):
            hits = opened.searcher.search(query, limit=5)
            table = Table("kind", "id", "title", title=f"search {query!r}")
            for hit in hits:
                table.add_row(hit.kind, str(hit.id), hit.title)
                first = first or hit
            console.print(table)
        if first is not None:
            record = opened.records.show(first.kind, first.id)
            table = Table(
                "field", "value", title=f"{first.kind} {first.id} in full", show_header=False
            )
            for key, value in record.items():
                if value not in (None, "", [], "[]"):
                    table.add_row(key, str(value))
            console.print(table)
        _linkage(opened)


def _linkage(archive: Archive, shown: int = 3) -> None:
    """Link the victims once (a new demo archive) and show the most probable pairs."""
    if not archive.links.queue(limit=1) and not archive.links.queue("accepted", limit=1):
        run = archive.links.find("persons")
        console.print(
            f"[bold]Record linkage[/bold]: compared {run.records} victims, "
            f"{run.new} pairs in the review queue (sillok review ARCHIVE)."
        )
    for candidate in archive.links.queue(limit=shown):
        show_candidate(candidate)


def _given_name(archive: Archive) -> str:
    """A two-syllable given name of a victim in the archive (a short Korean query)."""
    for hit in archive.searcher.search("", archive.searcher.act_filter(), limit=50):
        for name in archive.records.show("act", hit.id).get("victim_names", []):
            hangul = "".join(ch for ch in name if "\uac00" <= ch <= "\ud7a3")
            if len(hangul) == 3:
                return hangul[1:]
    return "여정"
