"""Commands for integrity and confidentiality: verify, proof, users, keys, audit, backups,
replicas, attachments, wipe."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from sillok.archive import Archive
from sillok.cli import (
    ArchiveArg,
    JsonOpt,
    PassphraseFile,
    app,
    console,
    current_user,
    err_console,
    friendly_errors,
    open_archive,
    print_json,
    read_passphrase,
    read_secret,
)
from sillok.custody.backup import FolderReplica
from sillok.custody.proofs import BundleCheck, load_bundle, parse_record, verify_bundle
from sillok.custody.wipe import wipe as wipe_archive
from sillok.errors import InvalidInput


@app.command()
@friendly_errors
def verify(
    archive: Path = ArchiveArg,
    log_only: bool = typer.Option(
        False, "--log-only", help="Check only the Merkle log, not every stored row (faster)."
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="Recompute everything, not only what changed since your last verification.",
    ),
    jobs: int = typer.Option(
        os.cpu_count() or 1,
        "--jobs",
        min=1,
        help="Processes checking the log and the rows (default: one per CPU); 1: this one.",
        show_default="the number of CPUs",
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Recompute the Merkle log and every stored row's hash; report the first difference.

    By default it starts from your last verification (a record signed with your author key):
    what is byte for byte what you verified then is read and compared, not recomputed."""
    with open_archive(archive, passphrase_file) as opened:
        report = opened.verification.run(
            rows=not log_only, since_last=not full, remember=not log_only, jobs=jobs
        )
    if as_json:
        print_json(report.to_json())
    elif report.ok:
        since = (
            f" (from your last verification at tree size {report.since}: "
            f"{report.unchanged_rows} rows unchanged since)"
            if report.since is not None
            else ""
        )
        console.print(
            f"OK: {report.entries} log entries, {report.rows} rows, {report.versions} earlier "
            f"versions, {report.checkpoints} signed checkpoints, {report.attachments} "
            f"attachments checked in {report.seconds:.1f} s{since}.\n"
            f"tree size {report.size}, root {report.root}"
        )
        for note in report.notes:
            console.print(f"  note: {note}", soft_wrap=True)
    else:
        err_console.print(f"FAILED: {report.first_problem}", soft_wrap=True)
        for problem in report.problems[1:]:
            err_console.print(f"  also: {problem}", soft_wrap=True)
        if report.more_problems:
            err_console.print(f"  and {report.more_problems} more differences")
    if not report.ok:
        raise typer.Exit(1)


def _read_new_passphrase(path: Path | None) -> str:
    """A new user's passphrase: from a file, SILLOK_NEW_PASSPHRASE, or a prompt twice."""
    return read_secret(path, "--new-passphrase-file", "SILLOK_NEW_PASSPHRASE", "New passphrase",
                       confirm=True)


NewPassphraseFile = typer.Option(
    None,
    "--new-passphrase-file",
    help="Read the new passphrase from this file (else SILLOK_NEW_PASSPHRASE, else a prompt).",
    dir_okay=False,
)


# --- proofs -------------------------------------------------------------------------------


@app.command()
@friendly_errors
def proof(
    target: str = typer.Argument(
        ..., help="The archive folder, or the word 'verify' to check a bundle."
    ),
    bundle: Path = typer.Argument(None, help="With 'verify': the bundle file to check."),
    record: str = typer.Option(None, "--record", help="KIND:ID of the record, e.g. act:12."),
    version: int = typer.Option(None, "--version", min=1, help="The version (default: current)."),
    consistency: int = typer.Option(
        None, "--consistency", min=1, help="Prove the log at this size is a prefix of now."
    ),
    output: Path = typer.Option(None, "--output", "-o", dir_okay=False, help="Write here."),
    key: list[str] = typer.Option(
        None, "--key", help="With 'verify': a trusted verifier key (repeatable)."
    ),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write a proof bundle of a record version, or check one (`proof verify BUNDLE.json`).

    `sillok proof ARCHIVE --record act:12 --output b.json` writes the record (as your role may
    see it), its inclusion proof and a signed checkpoint; `sillok proof verify b.json` checks it
    with no archive and no passphrase.
    """
    import json


    if target == "verify" and bundle is not None:
        try:
            data = load_bundle(bundle.read_bytes(), str(bundle))
        except OSError as exc:
            raise InvalidInput(f"{bundle}: cannot read it ({exc.strerror})") from None
        result = verify_bundle(data, list(key) if key else None)
        if as_json:
            print_json(result.__dict__ if isinstance(result, BundleCheck) else result)
        elif isinstance(result, BundleCheck):
            console.print(f"VERIFIED: {result.summary()}")
            if not key:
                console.print(
                    "The bundle's own key was used: compare it with the key the archive's "
                    f"keeper publishes: {data.get('verifier_key')}"
                )
        else:
            console.print(
                f"VERIFIED: the log {result['origin']} at size {result['old_size']} is a "
                f"prefix of the log at size {result['new_size']}."
            )
        return
    if (record is None) == (consistency is None):
        raise InvalidInput("give --record KIND:ID or --consistency SIZE (one of them)")
    with open_archive(Path(target), passphrase_file) as opened:
        if record is not None:
            kind, rid = parse_record(record)
            made = opened.proofs.record(kind, rid, version)
        else:
            made = opened.proofs.consistency(consistency)
    text = json.dumps(made, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        print_json(made)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"Wrote {output}. Check it anywhere with: sillok proof verify {output}")


# --- users --------------------------------------------------------------------------------

user_app = typer.Typer(help="Users of an archive and their roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")
RoleOpt = typer.Option(
    ..., "--role", help="admin, coordinator, documenter, reviewer, analyst or viewer."
)


@user_app.command("add")
@friendly_errors
def user_add(
    archive: Path = ArchiveArg,
    name: str = typer.Argument(..., help="The new user's name."),
    role: str = RoleOpt,
    new_passphrase_file: Path = NewPassphraseFile,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Add a user with a role and their own passphrase (administrators only)."""
    with open_archive(archive, passphrase_file) as opened:
        opened.users.add(name, role, _read_new_passphrase(new_passphrase_file))
    console.print(f"Added {name} ({role}).")


@user_app.command("remove")
@friendly_errors
def user_remove(
    archive: Path = ArchiveArg,
    name: str = typer.Argument(..., help="The user to remove."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Remove a user: their copy of the keys is deleted (then consider `sillok keys rotate`)."""
    with open_archive(archive, passphrase_file) as opened:
        opened.users.remove(name)
    console.print(f"Removed {name}. Run `sillok keys rotate` if they may have kept a copy.")


@user_app.command("role")
@friendly_errors
def user_role(
    archive: Path = ArchiveArg,
    name: str = typer.Argument(..., help="The user whose role changes."),
    role: str = RoleOpt,
    new_passphrase_file: Path = NewPassphraseFile,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Give a user another role (administrators only): their key copy is made anew for the
    role, with a new passphrase for them; their sessions end."""
    with open_archive(archive, passphrase_file) as opened:
        change = opened.users.set_role(name, role, _read_new_passphrase(new_passphrase_file))
    console.print(f"{name} now has the {role} role, with the new passphrase.")
    if change.rotate:
        console.print(
            f"The {change.was} role held keys the {role} role does not. Run `sillok keys rotate`"
            " if they may have kept a copy of their old one."
        )


@user_app.command("list")
@friendly_errors
def user_list(
    archive: Path = ArchiveArg, as_json: bool = JsonOpt, passphrase_file: Path = PassphraseFile
) -> None:
    """List users with their roles."""
    from rich.table import Table

    with open_archive(archive, passphrase_file) as opened:
        listed = opened.users.list()
    if as_json:
        print_json(listed)
        return
    table = Table("user", "role", "active", "seal key", "added by", "added at")
    for u in listed:
        table.add_row(
            u["name"],
            u["role"],
            "yes" if u["active"] else "no",
            "yes" if u["seal_key"] else "no",
            u["created_by"],
            u["created_at"] or "",
        )
    console.print(table)


@user_app.command("passwd")
@friendly_errors
def user_passwd(
    archive: Path = ArchiveArg,
    name: str = typer.Argument(None, help="Whose passphrase (default: your own)."),
    new_passphrase_file: Path = NewPassphraseFile,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Change your passphrase, or (as an administrator) another user's."""
    old = read_passphrase(passphrase_file)
    with Archive.open(archive, old, user=current_user()) as opened:
        who = name or opened.user.name
        opened.users.passwd(who, _read_new_passphrase(new_passphrase_file), old)
    console.print(f"Changed the passphrase of {who}.")


# --- audit --------------------------------------------------------------------------------


@app.command()
@friendly_errors
def audit(
    archive: Path = ArchiveArg,
    action: str = typer.Option(None, "--action", help="Only this action (login, export...)."),
    record: str = typer.Option(None, "--record", help="Only events about KIND:ID."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="The most events to list."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """List the audit trail, newest first: writes, sealed-field openings, exports, logins."""
    from rich.table import Table

    kind, rid = parse_record(record) if record else (None, None)
    with open_archive(archive, passphrase_file) as opened:
        events = opened.audit.events(action=action, record_kind=kind, record_id=rid, limit=limit)
    if as_json:
        print_json(events)
        return
    table = Table("id", "at", "actor", "action", "record", "detail")
    for e in events:
        table.add_row(
            str(e["id"]),
            e["at"] or "",
            e["actor"],
            e["action"],
            e["record"] or "",
            ", ".join(f"{k}={v}" for k, v in e["detail"].items()),
        )
    console.print(table)


# --- keys, backups, replicas, wipe ----------------------------------------------------------

keys_app = typer.Typer(help="The archive's keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
@friendly_errors
def keys_rotate(archive: Path = ArchiveArg, passphrase_file: Path = PassphraseFile) -> None:
    """Re-key the database and re-wrap the sealed fields' keys (administrators).

    Every user keeps their passphrase; a copy of the old keys (a removed user's) no longer
    opens the database. Interrupted, it leaves an archive that opens; run it again to finish.
    """
    with open_archive(archive, passphrase_file) as opened:
        done = opened.users.rotate_keys()
    console.print(
        f"Rotated the keys: {done['users']} users, {done['field_keys']} field keys re-wrapped."
    )


@app.command()
@friendly_errors
def backup(
    archive: Path = ArchiveArg,
    dest: Path = typer.Argument(..., help="A new or empty folder for the copy.", file_okay=False),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write an encrypted, self-verifying copy (database, keys, attachments, manifest)."""
    with open_archive(archive, passphrase_file) as opened:
        manifest = opened.backups.backup(dest)
    console.print(
        f"Backed up to {dest}: tree size {manifest['tree_size']}, root {manifest['root']}, "
        f"{len(manifest['files'])} files."
    )


@app.command()
@friendly_errors
def restore(
    backup_folder: Path = typer.Argument(..., help="A backup (or a replica) folder."),
    target: Path = typer.Argument(..., help="A new folder for the restored archive."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Restore a backup into a new folder; checks files, row counts and the Merkle root."""
    done = Archive.restore(backup_folder, target, read_passphrase(passphrase_file), current_user())
    console.print(
        f"Restored {target}: verified, tree size {done['tree_size']}, root {done['root']}."
    )


@app.command()
@friendly_errors
def replicate(
    archive: Path = ArchiveArg,
    dests: list[Path] = typer.Argument(..., help="Replica folders (made on first use)."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Update replicas; each refuses a state that does not extend the one it accepted."""
    with open_archive(archive, passphrase_file) as opened:
        done = opened.backups.replicate([FolderReplica(d) for d in dests])
    for item in done:
        console.print(f"{item['replica']}: {item['from_size']} -> {item['to_size']} entries")


@app.command()
@friendly_errors
def wipe(
    archive: Path = ArchiveArg,
    yes: bool = typer.Option(False, "--yes", help="Do it (there is no undo)."),
) -> None:
    """Panic button: destroy every key copy and the database header. No passphrase, no undo."""

    if not yes:
        raise InvalidInput("wipe destroys the archive for good: add --yes to do it")
    report = wipe_archive(archive)
    console.print(
        f"WIPED {archive} in {report.seconds:.2f} s: {', '.join(report.destroyed)}. "
        "It cannot be opened again; copies elsewhere (backups, replicas) are untouched."
    )


# --- protected persons --------------------------------------------------------------------


@app.command()
@friendly_errors
def protect(
    archive: Path = ArchiveArg,
    person_id: int = typer.Argument(..., help="The person's id."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Mark a person protected: their names are sealed under their own key, out of search."""
    with open_archive(archive, passphrase_file) as opened:
        opened.protection.protect(person_id)
    console.print(f"Person {person_id} is protected.")


@app.command()
@friendly_errors
def shred(
    archive: Path = ArchiveArg,
    person_id: int = typer.Argument(..., help="The protected person's id."),
    yes: bool = typer.Option(False, "--yes", help="Do it (there is no undo)."),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Crypto-shred a protected person: destroy their key, so their sealed identity is gone."""
    if not yes:
        raise InvalidInput("shred erases the person's identity for good: add --yes to do it")
    with open_archive(archive, passphrase_file) as opened:
        done = opened.protection.shred(person_id)
    console.print(
        f"Shredded the key of person {person_id}."
        if done
        else f"Person {person_id} had no key of their own: nothing to shred."
    )


# --- attachments --------------------------------------------------------------------------


@app.command()
@friendly_errors
def attach(
    archive: Path = ArchiveArg,
    record: str = typer.Argument(..., help="KIND:ID of the record, e.g. source:3."),
    file: Path = typer.Argument(..., help="The evidence file.", dir_okay=False),
    media_type: str = typer.Option(None, "--media-type", help="Override the detected type."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Store an evidence file sealed in the archive, with its SHA-256 and chain of custody."""
    kind, rid = parse_record(record)
    with open_archive(archive, passphrase_file) as opened:
        added = opened.attachments.attach(kind, rid, file, media_type)
    if as_json:
        print_json(added)
        return
    console.print(
        f"Attached {file.name} to {record} as attachment {added['id']}: {added['size']} bytes, "
        f"{added['media_type']}, SHA-256 {added['sha256']}"
    )


attachment_app = typer.Typer(help="Evidence files stored in an archive.", no_args_is_help=True)
app.add_typer(attachment_app, name="attachment")


@attachment_app.command("get")
@friendly_errors
def attachment_get(
    archive: Path = ArchiveArg,
    attachment_id: int = typer.Argument(..., help="The attachment's id."),
    output: Path = typer.Argument(..., help="Where to write the original file.", dir_okay=False),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Write an attachment's original file back out, byte for byte (audited)."""
    with open_archive(archive, passphrase_file) as opened:
        got = opened.attachments.get(attachment_id, output)
    console.print(f"Wrote {output}: {got['size']} bytes, SHA-256 {got['sha256']} (checked).")


@attachment_app.command("list")
@friendly_errors
def attachment_list(
    archive: Path = ArchiveArg,
    record: str = typer.Argument(None, help="Only the attachments of KIND:ID."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """List attachments with their hashes and chain of custody."""
    from rich.table import Table

    kind, rid = parse_record(record) if record else (None, None)
    with open_archive(archive, passphrase_file) as opened:
        listed = opened.attachments.list(kind, rid)
    if as_json:
        print_json(listed)
        return
    table = Table("id", "record", "file", "type", "bytes", "sha256", "custody")
    for a in listed:
        table.add_row(
            str(a["id"]),
            f"{a['record_kind']}:{a['record_id']}",
            str(a["filename"]),
            str(a["media_type"]),
            str(a["size"]),
            a["sha256"],
            "; ".join(f"{c['action']} by {c['actor']} at {c['at']}" for c in a["custody"]),
        )
    console.print(table)
