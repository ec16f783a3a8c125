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
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput, NotFound, SillokError
from sillok.ledger.checkpoint import (
    CheckpointError,
    follow_transitions,
    is_signed,
    key_for_size,
    only_signed_by,
    open_checkpoint,
)
from sillok.ledger.entries import (
    LEGACY_SHAPES,
    LOGGED_BY_NAME,
    SALTED_GENERAL,
    SHAPES,
    content_commitment,
    entry_bytes,
    field_commitment,
    is_withheld,
)
from sillok.ledger.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from sillok.messages import no_such
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

    def sign_head(self) -> bool:
        """Countersign the log's current head with the organisation's key, when this user
        holds it (an administrator): proofs of what others just wrote need a signed head."""
        with self.vault.store.transaction() as conn:
            return self.vault.log.sign_head(conn)

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
                raise NotFound(no_such(kind, record_id))
            version = version or int(current.version)
            if version == int(current.version):
                row: dict[str, Any] = dict(current._mapping)
            else:
                data = store_ledger.kept_version(conn, kind, record_id, version)
                if data is None:
                    raise NotFound(f"{kind} {record_id} has no version {version}")
                row = json.loads(data)
            # An earlier version answers to today's sharing level and seals (issue 12, 3).
            today = dict(current._mapping)
            sharing = today.get("sharing")
            if kind == "attachment":  # an evidence file is as shared as its record
                parent = store_rows.get(conn, current.record_kind, current.record_id)
                sharing = getattr(parent, "sharing", None)
            if not may_see(role, sharing):
                raise NotFound(no_such(kind, record_id))
            if today.get("protected") and row.get("ref") != today.get("ref"):
                raise InvalidInput(
                    f"{kind} {record_id} version {version} carries a ref withdrawn when the "
                    "person was protected: no bundle of it is made"
                )
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
        if content_commitment(committed) != entry.content and table.name in LEGACY_SHAPES:
            # logged before its ref was committed salted: the bundle gives it in the clear
            shape = LEGACY_SHAPES[table.name]
            committed = log.committed(shape, row, version)
        fields: dict[str, Any] = {}
        withheld: dict[str, str] = {}
        salts: dict[str, str] = {}
        for column, value in values.items():
            if column not in shape.redactable:
                fields[column] = value
            elif (
                is_sealed(row.get(column))
                or is_withheld(row.get(column))
                or is_sealed(today.get(column))
                or access(role, sharing, table.name, column) is Access.REDACT
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
            old_note = _signed(log.checkpoint(conn, old_size), head.origin)
            new_note = _signed(log.checkpoint(conn, new_size), head.origin)
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


def _signed(note: str | None, origin: str) -> str | None:
    # a head written by a non-administrator carries only its author's signature: it proves
    # nothing to others until the organisation's key signs it
    return only_signed_by(note, origin) if note is not None and is_signed(note, origin) else None


def _trusted(bundle: dict[str, Any], trusted_keys: list[str] | None) -> list[str]:
    if trusted_keys:
        return _along_chain(bundle, trusted_keys)
    key = bundle.get("verifier_key")
    if not isinstance(key, str):
        raise BundleError("the bundle names no verifier key and none was given")
    return [key]


_JSON_TYPES = {bool: "true or false", int: "a number", float: "a number", str: "a string",
               list: "an array", dict: "an object", type(None): "null"}
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: the most hashes a proof can need (a tree of 2**64 entries)
_MOST_HASHES = 64


def _kind(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _integer(value: Any, name: str, least: int) -> int:
    if type(value) is not int or value < least:  # not isinstance: true is not a record id
        raise BundleError(f"{name} must be an integer of at least {least}, not {_kind(value)}")
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BundleError(f"{name} must be a string, not {_kind(value)}")
    return value


def _hex64(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BundleError(f"{name} must be 64 lowercase hex digits")
    return value


def _field(value: Any, name: str) -> Any:
    """A disclosed value as the log holds it: null, true/false, an integer or Unicode text."""
    if type(value) not in (type(None), bool, int, str):
        raise BundleError(f"{name} must be null, true/false, an integer or a string")
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BundleError(f"{name} is not Unicode text (a lone surrogate)") from None
    return value


def _hashes(bundle: dict[str, Any], name: str) -> list[bytes]:
    given = bundle.get(name, [])
    if not isinstance(given, list) or len(given) > _MOST_HASHES:
        raise BundleError(f"{name} must be an array of at most {_MOST_HASHES} base64 hashes")
    return [_unb64(h, f"{name} hash {i}") for i, h in enumerate(given)]


def load_bundle(data: bytes | str, name: str) -> Any:
    """The parsed JSON of a bundle file named ``name``; :class:`BundleError` naming it if the
    text is not UTF-8 JSON (or nests past what the parser takes)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError:
        raise BundleError(f"{name}: not UTF-8 text") from None
    except RecursionError:
        raise BundleError(f"{name}: not JSON (nested too deeply)") from None
    except ValueError as exc:  # not JSON, or an integer past Python's digit limit
        reason = str(exc)[:200].encode("utf-8", "backslashreplace").decode()
        raise BundleError(f"{name}: not JSON ({reason})") from None


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

    Every value is checked for its type before use, and the error names the field.

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
        raise BundleError(f"format: not {BUNDLE_FORMAT!r} or {CONSISTENCY_FORMAT!r}")
    keys = _trusted(bundle, trusted_keys)
    try:
        checkpoint = open_checkpoint(_text(bundle.get("checkpoint"), "checkpoint"), keys)
    except CheckpointError as exc:
        raise BundleError(f"the checkpoint does not verify: {exc}") from None
    record = bundle.get("record")
    if not isinstance(record, dict):
        raise BundleError(f"record must be an object, not {_kind(record)}")
    table = _text(record.get("table"), "record.table")
    kind = _text(record.get("kind"), "record.kind")
    rid = _integer(record.get("id"), "record.id", 1)
    version = _integer(record.get("version"), "record.version", 1)
    if table not in LOGGED_BY_NAME or RECORD_TABLES.get(kind) is None:
        raise BundleError(f"record.kind {kind[:40]!r} / record.table {table[:40]!r} is unknown")
    if RECORD_TABLES[kind].name != table:
        raise BundleError(f"record.table {table!r} is not the table of record.kind {kind!r}")
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
                raise BundleError(f"withheld.{column}: this column cannot be withheld")
            committed[column] = {"c": _hex64(withheld[column], f"withheld.{column}")}
        elif column in SALTED_GENERAL.get(table, ()) and column not in salts:
            # a bundle of a row logged before this column was committed salted
            committed[column] = _field(fields[column], f"fields.{column}")
        elif column in shape.redactable:
            if column not in salts:
                raise BundleError(f"salts.{column}: the disclosed field has no salt")
            salt = bytes.fromhex(_hex64(salts[column], f"salts.{column}"))
            value = _field(fields[column], f"fields.{column}")
            committed[column] = {"c": field_commitment(salt, value)}
        else:
            committed[column] = _field(fields[column], f"fields.{column}")
    content = content_commitment(committed)
    entry = bundle.get("entry")
    if not isinstance(entry, dict):
        raise BundleError(f"entry must be an object, not {_kind(entry)}")
    index = _integer(entry.get("index"), "entry.index", 0)
    op = entry.get("op")
    if op not in ("insert", "update"):
        raise BundleError("entry.op must be insert or update")
    canonical = entry_bytes(table, rid, None, version, op, content)
    if "canonical" in entry and _text(entry["canonical"], "entry.canonical") != canonical.decode(
        "utf-8"
    ):
        raise BundleError("the record's fields do not match the entry the bundle names")
    proof = _hashes(bundle, "inclusion_proof")
    try:
        verify_inclusion(leaf_hash(canonical), index, checkpoint.size, proof, checkpoint.root)
    except ProofError as exc:
        raise BundleError(f"the inclusion proof fails: {exc}") from None
    return BundleCheck(
        kind=kind,
        record_id=rid,
        version=version,
        origin=checkpoint.origin,
        tree_size=checkpoint.size,
        index=index,
        key_name=keys[0].split("+", 1)[0],
        fields=dict(fields),
        withheld=tuple(sorted(withheld)),
    )


def _verify_consistency(bundle: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    old_note = _text(bundle.get("old_checkpoint"), "old_checkpoint")
    new_note = _text(bundle.get("new_checkpoint"), "new_checkpoint")
    try:
        old = open_checkpoint(old_note, keys)
        new = open_checkpoint(new_note, keys, origin=old.origin)
    except CheckpointError as exc:
        raise BundleError(f"a checkpoint does not verify: {exc}") from None
    proof = _hashes(bundle, "consistency_proof")
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofError as exc:
        raise BundleError(f"the consistency proof fails: {exc}") from None
    return {"origin": old.origin, "old_size": old.size, "new_size": new.size}


def fingerprint(bundle_text: str) -> str:
    """SHA-256 of a bundle file's text (to cite it)."""
    return hashlib.sha256(bundle_text.encode("utf-8")).hexdigest()


__all__ = [
    "BundleCheck",
    "BundleError",
    "Proofs",
    "load_bundle",
    "parse_record",
    "verify_bundle",
]
