"""``sillok statements``: statements and news on the command line, as on the web.

``import`` reads Markdown files with YAML front matter (:mod:`sillok.records.statement_files`),
all or none; ``list``, ``publish`` and ``withdraw`` do what the staff pages do, with the same
rights (``statement.write``, ``statement.publish``: :mod:`sillok.security.policy`), checked by
the library whichever way in; ``members`` shows or sets the coalition's members.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

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
from sillok.records.statement_files import import_files
from sillok.records.statements import Statement
from sillok.security.policy import may

statements_app = typer.Typer(
    help="Statements and news: import from Markdown, list, publish, withdraw; the coalition's "
    "members.",
    no_args_is_help=True,
)
app.add_typer(statements_app, name="statements")

IdArg = typer.Argument(..., help="The statement's id (see `sillok statements list`).", min=1)


def _table(items: list[Statement]) -> Table:
    table = Table(
        "id", "kind", "lang", "posted", "signed", "member", "title", "published", "signatories"
    )
    for s in items:
        table.add_row(
            str(s.id),
            s.kind,
            s.language,
            s.date or "",
            s.signed or "",
            s.member.name if s.member else "",
            s.title,
            "yes" if s.published else "no",
            # in order, each a name or "person: NAME", as the statement form writes them
            "; ".join(x.line for x in s.signatories),
        )
    return table


@statements_app.command("import")
@friendly_errors
def import_(
    archive: Path = ArchiveArg,
    files: list[Path] = typer.Argument(  # noqa: B008
        ..., help="Markdown files with YAML front matter.", dir_okay=False
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Import Markdown files with front matter as unpublished statements: every file is checked
    first, and a bad one (named with its key and value) leaves the archive as it was."""
    with open_archive(archive, passphrase_file) as opened:
        items = import_files(opened.statements, files)
    if as_json:
        print_json([s.to_json() for s in items])
        return
    console.print(_table(items))
    console.print(f"Imported {len(items)} statement(s), unpublished.")


@statements_app.command("list")
@friendly_errors
def list_(
    archive: Path = ArchiveArg,
    published: bool = typer.Option(
        False, "--published", help="Only what is published (drafts too by default, with the "
        "statement.write right)."
    ),
    language: str = typer.Option(None, "--language", help="Only this language (ko, en...)."),
    kind: str = typer.Option(None, "--kind", help="Only this kind: statement, news, report."),
    member: str = typer.Option(None, "--member", help="Only this coalition member's."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many."),
    limit: int = typer.Option(100, "--limit", min=1, max=100, help="At most this many."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Statements, newest first: drafts too for a role that may write them, else only what is
    published."""
    with open_archive(archive, passphrase_file) as opened:
        only = published or not may(opened.vault.role, "statement.write")
        page = opened.statements.page(only, language, kind, offset, limit, member)
    if as_json:
        print_json({"total": page.total, "items": [s.to_json() for s in page.items]})
        return
    console.print(_table(page.items))
    console.print(f"{len(page.items)} of {page.total}.")


@statements_app.command("publish")
@friendly_errors
def publish(
    archive: Path = ArchiveArg,
    statement_id: int = IdArg,
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Publish a statement: from now on anyone can read it on the public pages."""
    _change(archive, passphrase_file, statement_id, as_json, "publish", "Published")


@statements_app.command("withdraw")
@friendly_errors
def withdraw(
    archive: Path = ArchiveArg,
    statement_id: int = IdArg,
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Take a published statement off the public pages (its versions stay in the history)."""
    _change(archive, passphrase_file, statement_id, as_json, "withdraw", "Withdrew")


def _change(
    archive: Path, passphrase_file: Path, statement_id: int, as_json: bool, how: str, done: str
) -> None:
    """Publish or withdraw (``how``) one statement and say so."""
    with open_archive(archive, passphrase_file) as opened:
        item = getattr(opened.statements, how)(statement_id)
    if as_json:
        print_json(item.to_json())
        return
    console.print(f"{done} statement {item.id}: {item.title}")


@statements_app.command("members")
@friendly_errors
def members(
    archive: Path = ArchiveArg,
    names: list[str] = typer.Argument(  # noqa: B008
        None, help="Set the members to these organizations (any of their names), in order."
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Show the coalition's member organizations, or set them (statement.publish)."""
    with open_archive(archive, passphrase_file) as opened:
        found = opened.statements.set_members(names) if names else opened.statements.members()
    if as_json:
        print_json([m.to_json() for m in found])
        return
    for m in found:
        console.print(f"{m.id}\t{m.name}" + ("\t(unverified)" if m.unverified else ""))
