"""``sillok report``: a PDF report of an archive's counts and estimate.

The counts are those of ``sillok stats`` (by act type, year, province, facility type, agency),
the estimate that of ``sillok estimate ARCHIVE --lists collection``, both under the same
filters; the PDF is drawn from the web pages' templates (:mod:`sillok.web.pdf`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from sillok.cli import ArchiveArg, PassphraseFile, app, console, friendly_errors, open_archive
from sillok.records.report import ReportOptions


@app.command()
@friendly_errors
def report(
    archive: Path = ArchiveArg,
    output: Path = typer.Option(
        ..., "--output", "-o", help="The PDF file to write (FILE.pdf).", dir_okay=False
    ),
    lang: str = typer.Option("ko", "--lang", help="Language of the report: ko or en."),
    date_from: str = typer.Option(
        None, "--from", help="Only acts that may have happened on or after this date."
    ),
    date_to: str = typer.Option(
        None, "--to", help="Only acts that may have happened on or before this date."
    ),
    place: str = typer.Option(
        None, "--place", help="Only acts at this place or inside it (name in any script, code)."
    ),
    lists: str = typer.Option(
        "collection", "--lists", help="Source field whose values are the estimate's lists "
        "(collection or source_type)."
    ),
    threshold: int = typer.Option(
        5, "--threshold", help="Never show an estimate's count under this."
    ),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write a PDF report: counts of acts by type, year, province, facility and agency
    (charts and tables), the estimate with its interval and warnings, methods and caveats."""
    from sillok.web.pdf import write_report  # WeasyPrint and the templates: `report` extra

    options = ReportOptions(
        lang=lang, date_from=date_from, date_to=date_to, place=place, lists=lists,
        threshold=threshold,
    )
    with open_archive(archive, passphrase_file) as opened:
        data = write_report(opened, options, output)
    estimate = data.estimate.get("estimate") if data.estimate else None
    said = f"estimate {estimate:,.0f}" if estimate is not None else "no estimate"
    console.print(f"Wrote {output}: {data.acts} acts, {said}.", markup=False, soft_wrap=True)
