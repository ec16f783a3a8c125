"""``sillok publish``: what an archive puts on the public side, as files.

``sillok publish site ARCHIVE --output DIR`` writes the public pages as a static site
(:mod:`sillok.web.static_site`); ``sillok publish settings ARCHIVE`` shows or sets the site's
name, logo, section and breadcrumb (:mod:`sillok.records.site`).

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
from sillok.records.site import SITE_LANGUAGES, Site, SiteChange, read_logo
from sillok.web.static_site import StaticSite

publish_app = typer.Typer(
    help="Publish what the anonymous visitor may see, as files (open data, a static site).",
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


@publish_app.command("settings")
@friendly_errors
def settings(
    archive: Path = ArchiveArg,
    lang: str = typer.Option(
        "ko", "--lang", help="The language of the texts given: ko or en."
    ),
    name: str | None = typer.Option(None, "--name", help="The organisation's name (\"\" clears)."),
    section: str | None = typer.Option(
        None, "--section", help="The news section's name, e.g. \"News on Members\"."
    ),
    breadcrumb: str | None = typer.Option(
        None,
        "--breadcrumb",
        help="The breadcrumb, parts between '>': \"Home > Activities > News on Members\".",
    ),
    url: str | None = typer.Option(
        None, "--url", help="Where the public site is served (https://...), for the feed and links."
    ),
    logo: Path | None = typer.Option(
        None, "--logo", help="The organisation's logo: a PNG or JPEG file of at most 256 KB.",
        dir_okay=False,
    ),
    no_logo: bool = typer.Option(False, "--no-logo", help="Take the logo off."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Show, or set, the public site's settings: the organisation's name and logo, the news
    section's name and breadcrumb (per language). Setting needs the publish right."""
    change = SiteChange(
        lang=lang,
        name=name,
        section=section,
        breadcrumb=breadcrumb,
        url=url,
        logo=read_logo(logo) if logo is not None else None,
        remove_logo=no_logo,
    )
    with open_archive(archive, passphrase_file) as opened:
        shown = Site(opened.vault).set(change)
    if as_json:
        print_json(shown.to_json())
        return
    for code in SITE_LANGUAGES:
        crumbs = " > ".join(shown.breadcrumbs.get(code, ())) or "-"
        console.print(f"[{code}] name: {shown.names.get(code, '-')}", markup=False, soft_wrap=True)
        console.print(f"[{code}] section: {shown.sections.get(code, '-')}", markup=False,
                      soft_wrap=True)
        console.print(f"[{code}] breadcrumb: {crumbs}", markup=False, soft_wrap=True)
    console.print(f"url: {shown.url or '-'}; logo: {shown.logo_type or '-'}", markup=False,
                  soft_wrap=True)


@publish_app.command("site")
@friendly_errors
def site(
    archive: Path = ArchiveArg,
    output: Path = typer.Option(
        ..., "--output", "-o", help="The folder to write the site in.", file_okay=False
    ),
    force: bool = typer.Option(False, "--force", help="Replace the folder if it is not empty."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Where the site will be served (else the settings' --url)."
    ),
    page_size: int = typer.Option(20, "--page-size", min=1, max=100, help="Items per list page."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write the public pages (as the anonymous visitor sees them) as a static site: home,
    news list pages, one page per item and translation, the Atom feed. Needs the publish right."""
    with open_archive(archive, passphrase_file) as opened:
        report = StaticSite(opened, page_size).write(output, force, base_url)
    if as_json:
        print_json(report.to_json())
        return
    console.print(
        f"Wrote {report.output}: {report.pages} pages, {report.items} published items; "
        f"open {report.output / 'index.html'}."
    )
