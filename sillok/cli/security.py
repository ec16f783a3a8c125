"""Commands for integrity and confidentiality: verify, proof, users, keys, audit, backups,
replicas, attachments, wipe."""

from __future__ import annotations

from pathlib import Path

import typer

from sillok.cli import PassphraseFile, app, console, err_console, friendly_errors
from sillok.cli.commands import ArchiveArg, JsonOpt, open_archive, print_json


@app.command()
@friendly_errors
def verify(
    archive: Path = ArchiveArg,
    log_only: bool = typer.Option(
        False, "--log-only", help="Check only the Merkle log, not every stored row (faster)."
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Recompute the Merkle log and every stored row's hash; report the first difference."""
    with open_archive(archive, passphrase_file) as opened:
        report = opened.verification.run(rows=not log_only)
    if as_json:
        print_json(report.to_json())
    elif report.ok:
        console.print(
            f"OK: {report.entries} log entries, {report.rows} rows, {report.versions} earlier "
            f"versions, {report.checkpoints} signed checkpoints, {report.attachments} "
            f"attachments checked in {report.seconds:.1f} s.\n"
            f"tree size {report.size}, root {report.root}"
        )
    else:
        err_console.print(f"FAILED: {report.first_problem}", soft_wrap=True)
        for problem in report.problems[1:]:
            err_console.print(f"  also: {problem}", soft_wrap=True)
        if report.more_problems:
            err_console.print(f"  and {report.more_problems} more differences")
    if not report.ok:
        raise typer.Exit(1)
