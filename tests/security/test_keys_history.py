"""The history, attacked with a key copy: take the signing key, rewrite, re-sign, pass `verify`.

Threat model: "curious or coerced user of a low role" and "removed user holding an old key
copy", asset "the history (Merkle log) and the checkpoint-signing key" (docs/threat-model.md).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, func, insert, select, update

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    author_key_name,
    note_text,
    open_checkpoint,
)
from sillok.ledger.entries import SHAPES, content_commitment, entry_bytes
from sillok.ledger.log import ArchiveLog
from sillok.ledger.merkle import CompactRange, leaf_hash
from sillok.model import acts, audit_events, ledger_checkpoints, ledger_entries, ledger_state
from tests.security.conftest import (
    ADMIN,
    Loot,
    add_user,
    admin_loot,
    extract_signer,
    open_as,
    salt_keys,
    staged,
    tools_fit,
)


def resign_everything(conn: Connection, signer: Signer | None) -> None:
    """Recompute every leaf hash, the frontier and every checkpoint, signed with ``signer``.

    Without a signer, the checkpoints whose root changed (or that are new) are left unsigned,
    as a non-administrator's write leaves its checkpoint.
    """
    state = conn.execute(select(ledger_state).where(ledger_state.c.id == 1)).one()
    sizes = set(conn.execute(select(ledger_checkpoints.c.size)).scalars())
    frontier = CompactRange()
    for row in conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq)).all():
        content = None if row.content is None else bytes(row.content)
        leaf = leaf_hash(
            entry_bytes(row.tbl, row.row_id, row.row_sub, row.row_version, row.op, content)
        )
        if leaf != bytes(row.leaf_hash):
            conn.execute(
                update(ledger_entries).where(ledger_entries.c.seq == row.seq).values(leaf_hash=leaf)
            )
        frontier.append(leaf)
        if frontier.size in sizes:
            root = frontier.root()
            checkpoint = Checkpoint(state.origin, frontier.size, root)
            note = signer.sign(checkpoint) if signer else checkpoint.body()
            changed = ledger_checkpoints.c.size == frontier.size
            if signer is None:
                changed = changed & (ledger_checkpoints.c.root != root)
            conn.execute(update(ledger_checkpoints).where(changed).values(root=root, note=note))
    conn.execute(
        update(ledger_state)
        .where(ledger_state.c.id == 1)
        .values(size=frontier.size, frontier=frontier.to_bytes())
    )


def controls(archive: Archive) -> None:
    """The forger's tools work with the administrator's copy (see ``tools_fit``)."""
    loot = admin_loot(archive.folder)
    tools_fit(extract_signer(loot, archive), "the administrator's copy opens the signing key")
    tools_fit(salt_keys(loot, archive), "the administrator's copy reproduces the commitments")


def commitment(log: ArchiveLog, table: str, row: dict[str, Any]) -> bytes:
    """The content commitment of a row, as the log computes it."""
    shape = SHAPES[table]
    version = int(row["version"]) if shape.versioned else None
    return content_commitment(log.committed(shape, row, version))


def test_a_viewers_copy_does_not_open_the_checkpoint_signing_key(yodok: Archive) -> None:
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    tools_fit(extract_signer(admin_loot(yodok.folder), yodok), "the admin's copy opens the key")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        signer = extract_signer(loot, viewer)
    assert signer is None, f"the viewer holds the signing key {signer}"


def rewrite_oldest_act(conn: Connection, log: ArchiveLog, signer: Signer) -> dict[str, Any]:
    """Change the oldest act's type, recompute its log entry, re-sign every checkpoint."""
    act = dict(conn.execute(select(acts).order_by(acts.c.id).limit(1)).one()._mapping)
    act["act_type"] = (
        "public_execution" if act["act_type"] != "public_execution" else "arbitrary_detention"
    )
    conn.execute(update(acts).where(acts.c.id == act["id"]).values(act_type=act["act_type"]))
    seq = conn.execute(
        select(func.max(ledger_entries.c.seq)).where(
            ledger_entries.c.tbl == "acts", ledger_entries.c.row_id == act["id"]
        )
    ).scalar_one()
    conn.execute(
        update(ledger_entries)
        .where(ledger_entries.c.seq == seq)
        .values(content=commitment(log, "acts", act))
    )
    resign_everything(conn, signer)
    return act


def add_act_as(
    conn: Connection, log: ArchiveLog, signer: Signer | None, author: str
) -> dict[str, Any]:
    """Insert an act credited to ``author``, append its log entry, sign the new head."""
    forged = dict(conn.execute(select(acts).order_by(acts.c.id).limit(1)).one()._mapping)
    forged.update(
        id=int(conn.execute(select(func.max(acts.c.id))).scalar_one()) + 1,
        ref=None,
        act_type="public_execution",
        created_by=author,
        updated_by=author,
    )
    conn.execute(insert(acts).values(**forged))
    seq = int(conn.execute(select(func.max(ledger_entries.c.seq))).scalar_one()) + 1
    content = commitment(log, "acts", forged)
    conn.execute(
        insert(ledger_entries).values(
            seq=seq,
            tbl="acts",
            row_id=forged["id"],
            row_sub=None,
            row_version=forged["version"],
            op="insert",
            content=content,
            leaf_hash=leaf_hash(entry_bytes("acts", forged["id"], None, 1, "insert", content)),
        )
    )
    conn.execute(
        insert(ledger_checkpoints).values(
            size=seq + 1, root=b"", note="", signed_at=forged["created_at"]
        )
    )
    resign_everything(conn, signer)
    return forged


def test_a_viewer_cannot_rewrite_an_old_act_and_pass_verification(yodok: Archive) -> None:
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    staged(yodok.verification.run().ok, "the archive verifies before the attack")
    controls(yodok)
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        signer = extract_signer(loot, viewer)
        salts = salt_keys(loot, viewer)
        if signer is None or not salts:
            return  # the copy opens neither the signing key nor the salts: no forgery to try
        log = ArchiveLog(viewer.store.dialect, salts[0], salts[0])
        with viewer.store.engine.begin() as conn:
            act = rewrite_oldest_act(conn, log, signer)
    shown = yodok.records.show("act", int(act["id"]))
    staged(shown["act_type"] == act["act_type"], "the attacker's rewrite reached the act")
    report = yodok.verification.run()
    assert not report.ok, "the rewritten, re-signed history passes `verify`"


def test_a_viewer_cannot_add_a_record_in_an_administrators_name(yodok: Archive) -> None:
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    controls(yodok)
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        signer = extract_signer(loot, viewer)
        salts = salt_keys(loot, viewer)
        if signer is None or not salts:
            return  # the copy opens neither the signing key nor the salts: no forgery to try
        log = ArchiveLog(viewer.store.dialect, salts[0], salts[0])
        with viewer.store.engine.begin() as conn:
            forged = add_act_as(conn, log, signer, ADMIN)
    shown = yodok.records.show("act", int(forged["id"]))
    staged(shown["created_by"] == ADMIN, "the forged act is in the archive")
    report = yodok.verification.run()
    assert not report.ok, "an act the administrator never wrote passes `verify` as theirs"


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_a_removed_users_signing_key_does_not_sign_for_the_archive_after_rotation(
    yodok: Archive, role: str
) -> None:
    name = f"qx.former.{role}"
    passphrase = add_user(yodok, name, role)
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, name, passphrase)
    with open_as(yodok.folder, name, passphrase) as former:
        signer = extract_signer(loot, former)  # taken while still a user
    yodok.users.remove(name)
    yodok.users.rotate_keys()
    staged(yodok.users.get(name) is None, "the user was removed and the keys rotated")
    tools_fit(extract_signer(admin_loot(yodok.folder), yodok), "the admin's copy opens the key")
    if signer is None:
        return  # the copy never held the signing key: nothing to keep
    with yodok.store.reading() as conn:
        head = yodok.log.head(conn)
    forged = signer.sign(Checkpoint(head.origin, head.size + 1, bytes(32)))
    try:
        open_checkpoint(forged, [head.verifier_key], origin=head.origin)
        accepted = True
    except CheckpointError:
        accepted = False
    assert not accepted, "a checkpoint signed with the removed user's key verifies"


def test_a_viewer_cannot_add_a_record_under_an_unsigned_checkpoint(yodok: Archive) -> None:
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    controls(yodok)
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        salts = salt_keys(loot, viewer)
        staged(salts, "the viewer's copy reproduces the log's commitments (every role's does)")
        log = ArchiveLog(viewer.store.dialect, salts[0], salts[0])
        with viewer.store.engine.begin() as conn:
            forged = add_act_as(conn, log, None, ADMIN)
    shown = yodok.records.show("act", int(forged["id"]))
    staged(shown["created_by"] == ADMIN, "the forged act is in the archive")
    report = yodok.verification.run()
    assert not report.ok, "an act the administrator never wrote passes `verify` as theirs"


def sign_newest_checkpoint(conn: Connection, signer: Signer) -> None:
    """Sign the newest checkpoint's note with ``signer`` (its body stays as it is)."""
    size = conn.execute(select(func.max(ledger_checkpoints.c.size))).scalar_one()
    note = conn.execute(
        select(ledger_checkpoints.c.note).where(ledger_checkpoints.c.size == size)
    ).scalar_one()
    signed = signer.sign(Checkpoint.from_body(note_text(note)))
    conn.execute(
        update(ledger_checkpoints).where(ledger_checkpoints.c.size == size).values(note=signed)
    )


def author_signer(conn: Connection, seed: bytes) -> Signer:
    """A signer of author signatures on this log's checkpoints, with ``seed``."""
    origin = conn.execute(select(ledger_state.c.origin)).scalar_one()
    return Signer.from_private_bytes(author_key_name(origin), seed)


def test_a_viewer_cannot_add_a_record_signed_with_their_own_author_key(yodok: Archive) -> None:
    """The viewer holds an author key (every user does) and signs the forged act's checkpoint
    with it: the signature is theirs, and a viewer may not add records."""
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    controls(yodok)
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        seed = viewer.keys.author
        staged(seed is not None, "the viewer's copy holds their author key")
        assert seed is not None
        salts = salt_keys(loot, viewer)
        staged(salts, "the viewer's copy reproduces the log's commitments (every role's does)")
        log = ArchiveLog(viewer.store.dialect, salts[0], salts[0])
        with viewer.store.engine.begin() as conn:
            forged = add_act_as(conn, log, None, ADMIN)
            sign_newest_checkpoint(conn, author_signer(conn, seed))
    staged(yodok.records.show("act", int(forged["id"]))["created_by"] == ADMIN, "forged")
    report = yodok.verification.run()
    assert not report.ok, "an act signed by a viewer's author key passes `verify`"


def test_a_viewer_cannot_register_an_author_key_of_their_own(yodok: Archive) -> None:
    """The viewer writes an audit event registering a fresh key as an administrator's, logs
    it, and signs the forged act's checkpoint with that key."""
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    seed = os.urandom(32)
    with open_as(yodok.folder, "qx.viewer", passphrase) as viewer:
        salts = salt_keys(loot, viewer)
        staged(salts, "the viewer's copy reproduces the log's commitments (every role's does)")
        log = ArchiveLog(viewer.store.dialect, salts[0], salts[0])
        with viewer.store.engine.begin() as conn:
            signer = author_signer(conn, seed)
            public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
            raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
            detail = {"user": "qx.fake", "role": "admin", "author": base64.b64encode(raw).decode()}
            append_audit_event(conn, log, "author_key", detail)
            sign_newest_checkpoint(conn, signer)
            forged = add_act_as(conn, log, None, ADMIN)
            sign_newest_checkpoint(conn, signer)
    staged(yodok.records.show("act", int(forged["id"]))["created_by"] == ADMIN, "forged")
    report = yodok.verification.run()
    assert not report.ok, "a key the viewer registered for themselves signs writes `verify` accepts"


def test_a_removed_users_author_key_signs_nothing_after_their_removal(yodok: Archive) -> None:
    """A documenter may add records; once removed, the author key they kept signs nothing."""
    name = "qx.former.documenter"
    passphrase = add_user(yodok, name, "documenter")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, name, passphrase)
    with open_as(yodok.folder, name, passphrase) as former:
        seed = former.keys.author
        salts = salt_keys(loot, former)
    staged(seed is not None and salts, "the documenter's copy held an author key and the salts")
    assert seed is not None
    yodok.users.remove(name)
    staged(yodok.verification.run().ok, "the archive verifies after the removal")
    with yodok.store.engine.begin() as conn:  # the database key they kept, or a replica's
        log = ArchiveLog(yodok.store.dialect, salts[0], salts[0])
        add_act_as(conn, log, None, ADMIN)
        sign_newest_checkpoint(conn, author_signer(conn, seed))
    report = yodok.verification.run()
    assert not report.ok, "an act signed by a removed user's author key passes `verify`"


def append_audit_event(
    conn: Connection, log: ArchiveLog, action: str, detail: dict[str, Any]
) -> None:
    """Insert an audit event, append its log entry and an unsigned checkpoint of the new head."""
    event: dict[str, Any] = {
        "at": conn.execute(select(func.max(audit_events.c.at))).scalar_one(),
        "actor": ADMIN,
        "action": action,
        "record_kind": None,
        "record_id": None,
        "detail": json.dumps(detail, sort_keys=True),
    }
    # the id the database gives (a PostgreSQL sequence moves on, as for any insert)
    event["id"] = conn.execute(
        insert(audit_events).values(**event).returning(audit_events.c.id)
    ).scalar_one()
    seq = int(conn.execute(select(func.max(ledger_entries.c.seq))).scalar_one()) + 1
    content = commitment(log, "audit_events", event)
    conn.execute(
        insert(ledger_entries).values(
            seq=seq,
            tbl="audit_events",
            row_id=event["id"],
            row_sub=None,
            row_version=None,
            op="insert",
            content=content,
            leaf_hash=leaf_hash(
                entry_bytes("audit_events", event["id"], None, None, "insert", content)
            ),
        )
    )
    conn.execute(
        insert(ledger_checkpoints).values(size=seq + 1, root=b"", note="", signed_at=event["at"])
    )
    resign_everything(conn, None)
