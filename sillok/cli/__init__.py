"""The ``sillok`` command: thin commands that parse, call one service, and render.

Every command that opens an archive takes the passphrase from ``--passphrase-file``, then the
``SILLOK_PASSPHRASE`` environment variable, then a prompt. Errors a user can fix are printed as
one line on stderr with exit code 2; they never show a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from sillok.archive import Archive
from sillok.errors import SillokError
from sillok.estimate.archive import overlap_tables

app = typer.Typer(
    name="sillok",
    help="Sillok: document human rights violations (who did what to whom, when, where, "
    "according to whom).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn :class:`SillokError` into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SillokError as exc:
            # the message may quote a file's text ("[/x]" in a header): printed, never markup
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def read_secret(
    path: Path | None, option: str, env_var: str, label: str, confirm: bool = False
) -> str:
    """A passphrase from ``option``'s file, then ``env_var``, then a prompt (in that order)."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SillokError(f"{option}: cannot read {path} ({exc.strerror})") from None
    env = os.environ.get(env_var)
    if env:
        return env
    if not sys.stdin.isatty():
        raise SillokError(
            f"no {label.lower()}: use {option} or {env_var} when not at a terminal"
        )
    value: str = typer.prompt(label, hide_input=True, confirmation_prompt=confirm)
    return value


def read_passphrase(passphrase_file: Path | None, confirm: bool = False) -> str:
    """The passphrase from a file, SILLOK_PASSPHRASE or a prompt (in that order)."""
    return read_secret(passphrase_file, "--passphrase-file", "SILLOK_PASSPHRASE", "Passphrase",
                       confirm)


ArchiveArg = typer.Argument(..., help="The archive folder.", file_okay=False)
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
PassphraseFile = typer.Option(
    None,
    "--passphrase-file",
    help="Read the passphrase from this file (else SILLOK_PASSPHRASE, else a prompt).",
    dir_okay=False,
)


# --- who is acting ------------------------------------------------------------------------

_session: dict[str, str | None] = {"user": None}


def current_user() -> str | None:
    """The user named with ``sillok --user NAME`` (or SILLOK_USER) for this invocation."""
    return _session["user"]


@app.callback()
def _root(
    user: str = typer.Option(
        None,
        "--user",
        envvar="SILLOK_USER",
        help="Open archives as this user (default: the administrator made at init).",
    ),
) -> None:
    """Sillok: document human rights violations."""
    _session["user"] = user


def open_archive(folder: Path, passphrase_file: Path | None) -> Archive:
    """Unlock an archive as ``sillok --user`` with the passphrase from wherever it comes.

    Every command that opens an archive opens it here, so ``--user`` and
    ``--passphrase-file`` mean the same everywhere."""
    return Archive.open(folder, read_passphrase(passphrase_file), user=current_user())


def print_json(data: Any) -> None:
    """JSON on stdout, Hangul as is."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def main() -> None:
    """Entry point of the ``sillok`` script."""
    app()


def _estimate_from_archive(
    folder: Path, lists: str, where: list[str], by: str | None, passphrase_file: Path | None
) -> Any:
    """The overlap table(s) of an archive, for `sillok estimate ARCHIVE --lists FIELD`."""
    with open_archive(folder, passphrase_file) as archive:
        return overlap_tables(archive, lists, where, by)


# Commands register themselves on ``app`` when their modules are imported.
from sillok.cli import commands as _commands  # noqa: E402,F401
from sillok.cli import estimate as _estimate  # noqa: E402
from sillok.cli import linkage as _linkage  # noqa: E402
from sillok.cli import links as _links  # noqa: E402,F401
from sillok.cli import publish as _publish  # noqa: E402,F401
from sillok.cli import report as _report  # noqa: E402,F401
from sillok.cli import security as _security  # noqa: E402,F401
from sillok.cli import statements as _statements  # noqa: E402,F401
from sillok.cli import tour as _tour  # noqa: E402,F401
from sillok.cli import web as _web  # noqa: E402,F401

_estimate.register(app, archive_loader=_estimate_from_archive)
_linkage.register(app)
