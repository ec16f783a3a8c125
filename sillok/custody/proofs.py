"""Proof bundles: a record version, its inclusion proof and a signed checkpoint, in one file.

``Proofs.record(...)`` (``sillok proof ARCHIVE --record KIND:ID``) writes what an outside
verifier needs to check that a record version was in the archive's log, unaltered, when the
checkpoint was signed, and nothing else: the fields the caller's role may not read, and every
sealed field, are withheld as their salted commitments. ``verify_bundle`` (``sillok proof
verify BUNDLE.json``) checks a bundle with no archive and no passphrase: it needs only this
module, :mod:`sillok.ledger.entries`, :mod:`sillok.ledger.merkle`,
:mod:`sillok.ledger.checkpoint` and the bundle. The format is in docs/ledger.md ("Proof
bundles").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput, NotFound, SillokError
from sillok.ledger.checkpoint import (
    CheckpointError,
    follow_transitions,
    is_signed,
    key_for_size,
    open_checkpoint,
)
from sillok.ledger.entries import (
    LOGGED_BY_NAME,
    SHAPES,
    content_commitment,
    entry_bytes,
    field_commitment,
)
from sillok.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from sillok.model import RECORD_TABLES
from sillok.security.policy import Access, access, may, may_see
from sillok.security.seal import is_sealed
from sillok.store import ledger as store_ledger
from sillok.store import rows as store_rows

if TYPE_CHECKING:
    from sillok.vault import Vault

BUNDLE_FORMAT = "sillok-proof/1"
CONSISTENCY_FORMAT = "sillok-consistency/1"


class BundleError(SillokError):
    """A proof bundle is malformed or does not verify; the message says which check failed."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise BundleError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise BundleError(f"{what} is not valid base64") from None


def parse_record(spec: str) -> tuple[str, int]:
    """``KIND:ID`` (``act:12``) -> (kind, id); :class:`InvalidInput` naming the value."""
    kind, sep, rid = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in RECORD_TABLES or not rid.strip().isdigit():
        raise InvalidInput(
            f"--record: {spec!r} is not KIND:ID (KIND one of {', '.join(RECORD_TABLES)})"
        )
    return kind, int(rid)


class Proofs:
    """``archive.proofs``: bundles for outside verifiers."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def record(self, kind: str, record_id: int, version: int | None = None) -> dict[str, Any]:
        """A proof bundle for one version (default: the current one) of a record.

        Raises:
            NotFound: no such record or version, or the role may not see the record.
            InvalidInput: the role may not make proofs.
        """
        role = self.vault.role
        if not may(role, "proof"):
            raise InvalidInput(f"the {role} role may not make proof bundles")
        table = RECORD_TABLES[kind]
        shape = SHAPES[table.name]
        log = self.vault.log
        with self.vault.store.reading() as conn:
            current = store_rows.get(conn, kind, record_id)
            if current is None:
                raise NotFound(f"there is no {kind} with id {record_id}")
            version = version or int(current.version)
            if version == int(current.version):
                row: dict[str, Any] = dict(current._mapping)
            else:
                data = store_ledger.kept_version(conn, kind, record_id, version)
                if data is None:
                    raise NotFound(f"{kind} {record_id} has no version {version}")
                row = json.loads(data)
            sharing = row.get("sharing")
            if not may_see(role, sharing):
                raise NotFound(f"there is no {kind} with id {record_id}")
            entries = [
                e
                for e in log.entries_of(conn, table.name, record_id)
                if e.version == version and e.op != "delete"
            ]
            if not entries:
                raise NotFound(f"{kind} {record_id} version {version} is not in the log")
            entry = entries[-1]
            head = log.signed_head(conn)
            if entry.seq >= head.size:
                raise InvalidInput(
                    f"{kind} {record_id} version {version} was written after the log's newest "
                    "head signed by the organisation: an administrator's session signs it (open "
                    "the archive as an administrator), then make the proof"
                )
            leaves = log.leaf_hashes(conn, head.size)
            chain = log.key_chain(conn)
        key = (record_id, None)
        values = shape.values(row)
        committed = log.committed(shape, row, version)
        fields: dict[str, Any] = {}
        withheld: dict[str, str] = {}
        salts: dict[str, str] = {}
        for column, value in values.items():
            if column not in shape.redactable:
                fields[column] = value
            elif is_sealed(row.get(column)) or (
                access(role, sharing, table.name, column) is Access.REDACT
            ):
                withheld[column] = committed[column]["c"]
            else:
                fields[column] = value
                salts[column] = log.salt(table.name, key, version, column).hex()
        proof = inclusion_proof(entry.seq, leaves)
        self.vault.audit.record(
            "proof", kind, record_id, {"version": version, "tree_size": head.size}
        )
        return {
            "format": BUNDLE_FORMAT,
            "record": {"kind": kind, "table": table.name, "id": record_id, "version": version},
            "fields": fields,
            "salts": salts,
            "withheld": withheld,
            "entry": {
                "index": entry.seq,
                "op": entry.op,
                "canonical": entry.canonical().decode("utf-8"),
            },
            "inclusion_proof": [_b64(h) for h in proof],
            "checkpoint": head.checkpoint,
            "verifier_key": head.verifier_key,
            "key_transitions": [link.note for link in chain[1]],
            "first_key": chain[0],
            "made_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "made_for_role": role,
        }

    def consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof between two signed checkpoints of this archive's log."""
        log = self.vault.log
        with self.vault.store.reading() as conn:
            head = log.head(conn)
            new_size = new_size if new_size is not None else head.size
            if not 0 < old_size <= new_size <= head.size:
                raise InvalidInput(
                    f"sizes {old_size} and {new_size} must satisfy 0 < old <= new <= "
                    f"{head.size} (the log's size)"
                )
            old_note = _signed(log.checkpoint(conn, old_size))
            new_note = _signed(log.checkpoint(conn, new_size))
            if old_note is None or new_note is None:
                missing = old_size if old_note is None else new_size
                raise NotFound(f"no checkpoint was signed at tree size {missing}")
            leaves = log.leaf_hashes(conn, new_size)
            chain = log.key_chain(conn)
        return {
            "format": CONSISTENCY_FORMAT,
            "old_checkpoint": old_note,
            "new_checkpoint": new_note,
            "consistency_proof": [_b64(h) for h in consistency_proof(old_size, leaves)],
            "verifier_key": head.verifier_key,
            "key_transitions": [link.note for link in chain[1]],
            "first_key": chain[0],
        }


@dataclass(frozen=True)
class BundleCheck:
    """What a verified bundle shows."""

    kind: str
    record_id: int
    version: int
    origin: str
    tree_size: int
    index: int
    key_name: str
    fields: dict[str, Any]
    withheld: tuple[str, ...]

    def summary(self) -> str:
        """One paragraph for people."""
        hidden = f"; withheld: {', '.join(self.withheld)}" if self.withheld else ""
        return (
            f"{self.kind} {self.record_id} version {self.version} is entry {self.index} of "
            f"the log {self.origin}, included in the tree of size {self.tree_size} signed by "
            f"key {self.key_name}{hidden}."
        )


def _signed(note: str | None) -> str | None:
    # a head written by a non-administrator is unsigned: it proves nothing to others
    return note if note is not None and is_signed(note) else None


def _trusted(bundle: dict[str, Any], trusted_keys: list[str] | None) -> list[str]:
    if trusted_keys:
        return _along_chain(bundle, trusted_keys)
    key = bundle.get("verifier_key")
    if not isinstance(key, str):
        raise BundleError("the bundle names no verifier key and none was given")
    return [key]


def _along_chain(bundle: dict[str, Any], trusted_keys: list[str]) -> list[str]:
    """The trusted keys and the keys the bundle's transitions lead to from one of them (each
    transition signed by the key before it: a key published before a rotation still checks a
    bundle signed after it)."""
    first, notes = bundle.get("first_key"), bundle.get("key_transitions") or []
    if first not in trusted_keys or not notes:
        return trusted_keys
    lines = str(bundle.get("checkpoint") or bundle.get("new_checkpoint") or "").split("\n")
    try:
        chain = follow_transitions(str(first), [str(n) for n in notes], lines[0])
        size = int(lines[1])
    except (CheckpointError, IndexError, ValueError) as exc:
        raise BundleError(f"the bundle's chain of checkpoint keys does not verify: {exc}") from None
    # only the key of the checkpoint's epoch: a retired key signs nothing after its transition
    return [key_for_size(str(first), chain, size)]


def verify_bundle(
    bundle: Any, trusted_keys: list[str] | None = None
) -> BundleCheck | dict[str, Any]:
    """Check a proof bundle (record or consistency); raise :class:`BundleError` if it fails.

    Args:
        bundle: the parsed JSON of the bundle.
        trusted_keys: verifier keys obtained independently (published by the organisation);
            without them the bundle's own key is used, which proves integrity but not origin.
    """
    if not isinstance(bundle, dict):
        raise BundleError("a proof bundle is a JSON object")
    if bundle.get("format") == CONSISTENCY_FORMAT:
        return _verify_consistency(bundle, _trusted(bundle, trusted_keys))
    if bundle.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"unknown bundle format {bundle.get('format')!r}")
    keys = _trusted(bundle, trusted_keys)
    try:
        checkpoint = open_checkpoint(str(bundle.get("checkpoint", "")), keys)
    except CheckpointError as exc:
        raise BundleError(f"the checkpoint does not verify: {exc}") from None
    record = bundle.get("record")
    if not isinstance(record, dict):
        raise BundleError("the bundle has no record")
    table, kind = record.get("table"), record.get("kind")
    rid, version = record.get("id"), record.get("version")
    if (
        table not in LOGGED_BY_NAME
        or kind not in RECORD_TABLES
        or RECORD_TABLES[kind].name != table
    ):
        raise BundleError(f"the bundle's record kind {kind!r} / table {table!r} is unknown")
    if not isinstance(rid, int) or not isinstance(version, int):
        raise BundleError("the record's id and version must be integers")
    fields, salts, withheld = (bundle.get(k) or {} for k in ("fields", "salts", "withheld"))
    if not all(isinstance(x, dict) for x in (fields, salts, withheld)):
        raise BundleError("fields, salts and withheld must be JSON objects")
    shape = SHAPES[table]
    columns = {name for name, _conv in shape.converters}
    given = set(fields) | set(withheld)
    if given != columns or set(fields) & set(withheld):
        raise BundleError(
            "the bundle must give every column of the record once, as a field or withheld "
            f"(expected {', '.join(sorted(columns))})"
        )
    committed: dict[str, Any] = {}
    for column in sorted(columns):
        if column in withheld:
            if column not in shape.redactable:
                raise BundleError(f"column {column!r} cannot be withheld")
            committed[column] = {"c": str(withheld[column])}
        elif column in shape.redactable:
            if column not in salts:
                raise BundleError(f"the disclosed field {column!r} has no salt")
            salt = bytes.fromhex(str(salts[column]))
            committed[column] = {"c": field_commitment(salt, fields[column])}
        else:
            committed[column] = fields[column]
    content = content_commitment(committed)
    entry = bundle.get("entry")
    if not isinstance(entry, dict) or not isinstance(entry.get("index"), int):
        raise BundleError("the bundle has no entry index")
    op = entry.get("op")
    if op not in ("insert", "update"):
        raise BundleError(f"entry operation {op!r} is not insert or update")
    canonical = entry_bytes(table, rid, None, version, op, content)
    if "canonical" in entry and entry["canonical"] != canonical.decode("utf-8"):
        raise BundleError("the record's fields do not match the entry the bundle names")
    proof = [
        _unb64(h, f"inclusion proof hash {i}")
        for i, h in enumerate(bundle.get("inclusion_proof") or [])
    ]
    try:
        verify_inclusion(
            leaf_hash(canonical), entry["index"], checkpoint.size, proof, checkpoint.root
        )
    except ProofError as exc:
        raise BundleError(f"the inclusion proof fails: {exc}") from None
    return BundleCheck(
        kind=kind,
        record_id=rid,
        version=version,
        origin=checkpoint.origin,
        tree_size=checkpoint.size,
        index=entry["index"],
        key_name=keys[0].split("+", 1)[0],
        fields=dict(fields),
        withheld=tuple(sorted(withheld)),
    )


def _verify_consistency(bundle: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    try:
        old = open_checkpoint(str(bundle.get("old_checkpoint", "")), keys)
        new = open_checkpoint(str(bundle.get("new_checkpoint", "")), keys, origin=old.origin)
    except CheckpointError as exc:
        raise BundleError(f"a checkpoint does not verify: {exc}") from None
    proof = [
        _unb64(h, f"consistency proof hash {i}")
        for i, h in enumerate(bundle.get("consistency_proof") or [])
    ]
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofError as exc:
        raise BundleError(f"the consistency proof fails: {exc}") from None
    return {"origin": old.origin, "old_size": old.size, "new_size": new.size}


def fingerprint(bundle_text: str) -> str:
    """SHA-256 of a bundle file's text (to cite it)."""
    return hashlib.sha256(bundle_text.encode("utf-8")).hexdigest()


__all__ = ["BundleCheck", "BundleError", "Proofs", "parse_record", "verify_bundle"]
