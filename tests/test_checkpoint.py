"""Tests for sillok.ledger.checkpoint: C2SP checkpoints in signed notes, Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from sillok.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    Verifier,
    add_signature,
    author_key_name,
    is_signed,
    key_id,
    note_text,
    only_signed_by,
    open_checkpoint,
    open_note,
    signed_by,
)
from sillok.ledger.entries import canonical_entry, entry_hash
from sillok.ledger.merkle import inclusion_proof, leaf_hash, root_hash

ORIGIN = "example.org/sillok/test-archive"
SEED = bytes(range(32))

# The reference example of golang.org/x/mod/sumdb/note (note_test.go): Ed25519 signing is
# deterministic, so matching it byte for byte shows Go's note.Open accepts our notes.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _checkpoint(size: int = 5, extensions: tuple[str, ...] = ()) -> Checkpoint:
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(size)]
    return Checkpoint(ORIGIN, size, root_hash(leaves), extensions)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.from_private_bytes(ORIGIN, SEED)


# --- the format, byte for byte ---------------------------------------------------------------


def test_go_reference_note_is_reproduced_and_opened() -> None:
    signer = Signer.from_signer_key(GO_SIGNER_KEY)
    assert signer.verifier_key() == GO_VERIFIER_KEY
    assert signer.signer_key() == GO_SIGNER_KEY
    assert signer.sign_note(GO_TEXT) == GO_NOTE
    assert open_note(GO_NOTE, [GO_VERIFIER_KEY]) == GO_TEXT
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(GO_NOTE.replace("cryptography", "cryptographY"), [GO_VERIFIER_KEY])


def test_signed_checkpoint_matches_the_spec_built_by_hand(signer: Signer) -> None:
    root = hashlib.sha256(b"a root").digest()
    cp = Checkpoint(ORIGIN, 1234, root, ("ext one",))
    body = f"{ORIGIN}\n1234\n{base64.b64encode(root).decode()}\next one\n"
    assert cp.body() == body

    private = Ed25519PrivateKey.from_private_bytes(SEED)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = hashlib.sha256(ORIGIN.encode() + b"\x0a\x01" + public).digest()[:4]
    signature = private.sign(body.encode())
    line = "\u2014 " + ORIGIN + " " + base64.b64encode(kid + signature).decode() + "\n"
    assert signer.sign(cp) == body + "\n" + line
    assert signer.sign(cp).encode().count("\u2014".encode()) == 1
    assert b"\xe2\x80\x94 " in signer.sign(cp).encode()  # U+2014 as UTF-8, then a space

    key_b64 = base64.b64encode(b"\x01" + public).decode()
    vkey = f"{ORIGIN}+{kid.hex()}+{key_b64}"
    assert signer.verifier_key() == vkey
    assert signer.key_id == key_id(ORIGIN, public) == int.from_bytes(kid, "big")


def test_empty_tree_checkpoint_body() -> None:
    cp = Checkpoint("log", 0, hashlib.sha256(b"").digest())
    assert cp.body() == "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


# --- round trips -----------------------------------------------------------------------------


def test_sign_and_open_round_trip(signer: Signer) -> None:
    for cp in (_checkpoint(0), _checkpoint(1), _checkpoint(9, ("timestamp 2024-05-01",))):
        note = signer.sign(cp)
        assert open_checkpoint(note, [signer.verifier_key()]) == cp
        assert open_checkpoint(note.encode(), [signer.verifier()], origin=ORIGIN) == cp


def test_private_key_export_round_trip() -> None:
    signer = Signer.generate(ORIGIN)
    again = Signer.from_private_bytes(ORIGIN, signer.private_bytes())
    assert len(signer.private_bytes()) == 32
    assert again.verifier_key() == signer.verifier_key()
    assert Signer.from_signer_key(signer.signer_key()).verifier_key() == signer.verifier_key()
    note = again.sign(_checkpoint())
    assert open_checkpoint(note, [signer.verifier_key()]) == _checkpoint()


_line_text = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=30
)


@settings(max_examples=100, deadline=None)
@given(
    origin=_line_text,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(_line_text, max_size=3).map(tuple),
)
def test_checkpoint_body_round_trips(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    cp = Checkpoint(origin, size, root, extensions)
    assert Checkpoint.from_body(cp.body()) == cp


# --- rejection -------------------------------------------------------------------------------


def test_tampered_checkpoints_are_rejected(signer: Signer) -> None:
    cp = _checkpoint(5)
    note = signer.sign(cp)
    other_root = base64.b64encode(_checkpoint(6).root).decode()
    tampered = [
        note.replace("\n5\n", "\n6\n", 1),
        note.replace(base64.b64encode(cp.root).decode(), other_root, 1),
        note.replace(ORIGIN + "\n", ORIGIN + "x\n", 1),
        note.replace("\n\n", "\nextra line\n\n", 1),
    ]
    for bad in tampered:
        assert bad != note
        with pytest.raises(CheckpointError, match="does not verify"):
            open_checkpoint(bad, [signer.verifier_key()])


def test_a_wrong_or_missing_key_is_rejected(signer: Signer) -> None:
    note = signer.sign(_checkpoint())
    stranger = Signer.generate(ORIGIN)  # same name, other key: its id differs, so ignored
    with pytest.raises(CheckpointError, match="no signature from a known key"):
        open_checkpoint(note, [stranger.verifier_key()])
    with pytest.raises(CheckpointError, match="no signature from a known key"):
        open_checkpoint(note, [])


def test_a_bad_signature_from_a_known_key_rejects_the_note(signer: Signer) -> None:
    note = signer.sign(_checkpoint())
    text, _, line = note.rpartition("\n\n")
    blob = bytearray(base64.b64decode(line.split(" ")[-1]))
    blob[10] ^= 1  # inside the Ed25519 signature, keeping the key id
    forged = f"{text}\n\n\u2014 {ORIGIN} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(forged, [signer.verifier_key()])
    # The good signature does not rescue a note that also carries a bad one.
    both = note + forged.rpartition("\n\n")[2]
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(both, [signer.verifier_key()])


def test_unknown_cosignatures_are_ignored(signer: Signer) -> None:
    witness = Signer.generate("witness.example/w1")
    cp = _checkpoint()
    note = signer.sign(cp) + witness.signature_line(cp.body())
    assert open_checkpoint(note, [signer.verifier_key()]) == cp
    assert open_checkpoint(note, [witness.verifier_key()]) == cp
    assert open_checkpoint(note, [witness.verifier_key(), signer.verifier_key()]) == cp


def test_open_checkpoint_checks_the_origin(signer: Signer) -> None:
    note = signer.sign(_checkpoint())
    with pytest.raises(CheckpointError, match="not the expected"):
        open_checkpoint(note, [signer.verifier_key()], origin="example.org/other")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n", 1),                  # no blank line
        lambda n: n[:-1],                                     # no final newline
        lambda n: n.replace("\u2014", "-", 1),                 # hyphen for em dash
        lambda n: n.replace("\u2014", "\u2013", 1),            # en dash for em dash
        lambda n: n.replace("\n", "\r\n"),                     # CRLF
        lambda n: n.replace("\u2014 ", "\u2014  ", 1),         # doubled space
        lambda n: n[:-2] + "\n",                              # signature padding dropped
        lambda n: n[:-2] + "!\n",                              # not base64
        lambda n: n + "\n",                                    # trailing blank line
        lambda n: n + "garbage\n",                             # trailing garbage line
        lambda n: n.replace("\n5\n", "\n\x075\n"),             # control character
        lambda n: "\n" + n.partition("\n\n")[2],               # empty text
        lambda n: n.rpartition("\n\n")[0] + "\n\n",            # no signature lines
    ],
)
def test_malformed_notes_are_rejected(signer: Signer, mangle: object) -> None:
    note = signer.sign(_checkpoint(5))
    bad = mangle(note)  # type: ignore[operator]
    assert bad != note
    with pytest.raises(CheckpointError):
        open_checkpoint(bad, [signer.verifier_key()])


@pytest.mark.parametrize(
    "body",
    [
        "only\ntwo\n",
        f"{ORIGIN}\n05\n{base64.b64encode(bytes(32)).decode()}\n",     # leading zero
        f"{ORIGIN}\n+5\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n\u0665\n{base64.b64encode(bytes(32)).decode()}\n",  # Arabic-Indic five
        f"{ORIGIN}\n{2**64}\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n5\n{base64.b64encode(bytes(31)).decode()}\n",      # short root
        f"{ORIGIN}\n5\n{base64.b64encode(bytes(32)).decode().rstrip('=')}\n",
        f"{ORIGIN}\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n",  # non-canonical
        f"\n5\n{base64.b64encode(bytes(32)).decode()}\n",              # empty origin
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(signer: Signer, body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.from_body(body)
    with pytest.raises(CheckpointError):
        open_checkpoint(signer.sign_note(body), [signer.verifier_key()])


def test_too_many_signatures_are_rejected(signer: Signer) -> None:
    cp = _checkpoint()
    extra = "".join(Signer.generate(f"w{i}").signature_line(cp.body()) for i in range(100))
    with pytest.raises(CheckpointError, match="over 100"):
        open_checkpoint(signer.sign(cp) + extra, [signer.verifier_key()])
    assert open_checkpoint(signer.sign(cp) + extra[: extra.index("\n", 0) + 1],
                           [signer.verifier_key()]) == cp


def test_invalid_utf8_is_rejected(signer: Signer) -> None:
    raw = signer.sign(_checkpoint()).encode().replace(b"\n5\n", b"\n\xff\n")
    with pytest.raises(CheckpointError, match="UTF-8"):
        open_checkpoint(raw, [signer.verifier_key()])


def test_every_mangled_verifier_key_is_rejected() -> None:
    # As in Go's TestNewVerifier: no proper substring, no single changed byte, parses.
    Verifier.from_key(GO_VERIFIER_KEY)
    k = GO_VERIFIER_KEY
    for i in range(len(k)):
        for j in range(i + 1, len(k) + 1):
            if (i, j) != (0, len(k)):
                with pytest.raises(CheckpointError):
                    Verifier.from_key(k[i:j])
        with pytest.raises(CheckpointError):
            Verifier.from_key(k[:i] + chr(ord(k[i]) + 1) + k[i + 1 :])
    with pytest.raises(CheckpointError, match="does not match"):
        Verifier.from_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_conflicting_verifier_keys_are_refused(signer: Signer) -> None:
    note = signer.sign(_checkpoint())
    impostor = Verifier(signer.name, signer.key_id, Signer.generate("x").verifier().public_key)
    with pytest.raises(CheckpointError, match="share name"):
        open_checkpoint(note, [signer.verifier_key(), impostor])
    same_twice = [signer.verifier_key(), signer.verifier_key()]
    assert open_checkpoint(note, same_twice) == _checkpoint()


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\tname", "nbsp\u00a0name"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(CheckpointError, match="key name"):
        Signer.from_private_bytes(name, SEED)


def test_invalid_checkpoint_fields_are_refused() -> None:
    root = bytes(32)
    for args in [
        ("", 1, root, ()),
        ("a\nb", 1, root, ()),
        ("o", -1, root, ()),
        ("o", 2**64, root, ()),
        ("o", True, root, ()),
        ("o", 1, root[:31], ()),
        ("o", 1, root, ("",)),
        ("o", 1, root, ("a\nb",)),
        ("o", 1, root, "ext"),
    ]:
        with pytest.raises(CheckpointError):
            Checkpoint(*args)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match="32 bytes"):
        Signer.from_private_bytes(ORIGIN, SEED[:31])
    with pytest.raises(CheckpointError, match="newline"):
        Signer.from_private_bytes(ORIGIN, SEED).sign_note("no final newline")


# --- the documentation's worked example ------------------------------------------------------

DOCS = Path(__file__).parent.parent / "docs" / "ledger.md"


def test_docs_verifier_script_runs_and_matches_sillok() -> None:
    text = DOCS.read_text(encoding="utf-8")
    script = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(script, str(DOCS), "exec"), namespace)  # asserts the example verifies

    # The example is exactly what Sillok produces for the same three entries and key.
    entries = [{"op": "create", "record": f"source/{i}", "version": 1} for i in (1, 2, 3)]
    leaves = [entry_hash(e) for e in entries]
    signer = Signer.from_private_bytes("example.org/sillok/demo", SEED)
    cp = Checkpoint("example.org/sillok/demo", 3, root_hash(leaves))
    assert namespace["VKEY"] == signer.verifier_key()
    assert namespace["NOTE"] == signer.sign(cp)
    assert namespace["ENTRY"] == canonical_entry(entries[1])
    assert [base64.b64decode(p) for p in namespace["PROOF"]] == inclusion_proof(1, leaves)
    assert leaves[1].hex() in text

    # The documented verifier catches a changed entry and a changed signature.
    proof = inclusion_proof(1, leaves)
    changed = leaf_hash(namespace["ENTRY"].replace(b'"version":1', b'"version":2'))
    assert namespace["root_from_inclusion_proof"](changed, 1, 3, proof) != cp.root
    with pytest.raises(InvalidSignature):
        namespace["open_checkpoint"](namespace["NOTE"].replace("\n3\n", "\n4\n"),
                                     namespace["VKEY"])


def test_an_authors_and_the_organisations_signatures_share_one_note() -> None:
    """A head an author signed, countersigned by the organisation: both lines verify, and
    what leaves the archive carries the organisation's line alone."""
    origin = "example.org/sillok/qx"
    org = Signer.generate(origin)
    author = Signer.generate(author_key_name(origin))
    checkpoint = Checkpoint(origin, 7, bytes(range(32)))
    note = signed_by(checkpoint.body(), [author])
    assert is_signed(note) and not is_signed(note, origin)
    assert is_signed(note, author_key_name(origin))
    both = add_signature(note, org)
    assert open_checkpoint(both, [org.verifier_key()]) == checkpoint
    assert open_checkpoint(both, [author.verifier_key()]) == checkpoint
    outside = only_signed_by(both, origin)
    assert not is_signed(outside, author_key_name(origin))
    assert open_checkpoint(outside, [org.verifier_key()]) == checkpoint
    with pytest.raises(CheckpointError):
        open_checkpoint(outside, [author.verifier_key()])
    assert note_text(both) == checkpoint.body() == signed_by(checkpoint.body(), [])
    assert add_signature(checkpoint.body(), org) == org.sign(checkpoint)
