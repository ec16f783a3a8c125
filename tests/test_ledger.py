"""Tests for sillok.ledger.merkle (RFC 9162 hashing, proofs, the compact range) and the
canonical entries of sillok.ledger.entries."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sillok.ledger.entries import CanonicalEntryError, canonical_entry, entry_hash
from sillok.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "data" / "merkle"


def _leaves(n: int, seed: bytes = b"") -> list[bytes]:
    return [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(n)]


# --- an independent oracle: RFC 9162 section 2.1 transcribed recursively -------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return _path(m, d[:k]) + [_mth(d[k:])]
    return _path(m - k, d[k:]) + [_mth(d[:k])]


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [_mth(d)]
    k = _k(n)
    if m <= k:
        return _subproof(m, d[:k], b) + [_mth(d[k:])]
    return _subproof(m - k, d[k:], False) + [_mth(d[:k])]


# --- hashing ---------------------------------------------------------------------------------

# The RFC 6962 example leaves used by the Certificate Transparency and transparency-dev tests.
RFC6962_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_hashes_use_rfc_domain_separation() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_hash([a]) == a


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_known_roots(size: int) -> None:
    hashes = [leaf_hash(e) for e in RFC6962_LEAVES[:size]]
    assert root_hash(hashes).hex() == RFC6962_ROOTS[size - 1]
    assert CompactRange.from_leaf_hashes(hashes).root().hex() == RFC6962_ROOTS[size - 1]


def test_root_and_proofs_match_the_recursive_rfc_definition() -> None:
    for n in range(0, 70):
        d = _leaves(n)
        assert root_hash(d) == _mth(d), n
        for m in range(n):
            assert inclusion_proof(m, d) == _path(m, d), (m, n)
        for m in range(1, n + 1):
            assert consistency_proof(m, d) == _subproof(m, d, True), (m, n)


def test_root_hash_rejects_a_malformed_leaf_hash() -> None:
    d = _leaves(5)
    d[3] = d[3][:31]
    with pytest.raises(ValueError, match="index 3"):
        root_hash(d)
    with pytest.raises(ValueError, match="index 3"):
        inclusion_proof(0, d)


@pytest.mark.parametrize("index", [-1, 5, 6, True])
def test_inclusion_proof_rejects_an_index_outside_the_tree(index: int) -> None:
    with pytest.raises(ValueError, match="outside a tree of size 5"):
        inclusion_proof(index, _leaves(5))


@pytest.mark.parametrize("old_size", [-1, 0, 6])
def test_consistency_proof_rejects_bad_old_sizes(old_size: int) -> None:
    with pytest.raises(ValueError, match="between 1 and the current size 5"):
        consistency_proof(old_size, _leaves(5))


# --- the transparency-dev/merkle vectors -----------------------------------------------------


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


def test_every_vector_file_is_collected() -> None:
    assert len(_vector_files("inclusion")) + len(_vector_files("consistency")) == 196


@pytest.mark.parametrize(
    "path", _vector_files("inclusion"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_inclusion_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (
        _b64(v["leafHash"]), v["leafIdx"], v["treeSize"],
        [_b64(p) for p in v["proof"] or []], _b64(v["root"]),
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize(
    "path", _vector_files("consistency"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_consistency_vector(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (
        v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]),
        [_b64(p) for p in v["proof"] or []],
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_happy_path_vectors_are_reproduced_by_proof_generation() -> None:
    # The vectors' happy paths come from the RFC 6962 example tree: our generator must
    # produce the very same proofs, not merely proofs that verify.
    hashes = [leaf_hash(e) for e in RFC6962_LEAVES]
    for path in _vector_files("inclusion"):
        v = json.loads(path.read_text())
        if path.name == "happy-path.json" and v["treeSize"] <= 8:
            got = inclusion_proof(v["leafIdx"], hashes[: v["treeSize"]])
            assert got == [_b64(p) for p in v["proof"] or []], path
    for path in _vector_files("consistency"):
        v = json.loads(path.read_text())
        if path.name == "happy-path.json" and v["size1"] > 0 and v["size2"] <= 8:
            got = consistency_proof(v["size1"], hashes[: v["size2"]])
            assert got == [_b64(p) for p in v["proof"] or []], path


# --- malformed inputs beyond the vectors ----------------------------------------------------


def test_verify_inclusion_rejects_malformed_arguments() -> None:
    d = _leaves(6)
    root, proof = root_hash(d), inclusion_proof(2, d)
    verify_inclusion(d[2], 2, 6, proof, root)
    bad_calls = [
        (d[2][:31], 2, 6, proof, root),            # short leaf hash
        (d[2], 2, 6, proof, root + b"\x00"),       # long root
        (d[2], 2, 6, [*proof[:-1], proof[-1][:31]], root),  # short proof hash
        (d[2], -1, 6, proof, root),
        (d[2], 2, -6, proof, root),
        (d[2], 6, 6, proof, root),
        (d[2], 2, 2**64, proof, root),
        (d[2], True, 6, proof, root),
        (d[2], 2, 6, [*proof, proof[0]], root),     # trailing garbage
        (d[2], 2, 6, proof[:-1], root),             # truncated
        ("not bytes", 2, 6, proof, root),
    ]
    for args in bad_calls:
        with pytest.raises(ProofError):
            verify_inclusion(*args)  # type: ignore[arg-type]


def test_verify_consistency_rejects_malformed_arguments() -> None:
    d = _leaves(7)
    old, new, proof = root_hash(d[:3]), root_hash(d), consistency_proof(3, d)
    verify_consistency(3, 7, old, new, proof)
    bad_calls = [
        (3, 7, old[:31], new, proof),
        (3, 7, old, new, [*proof, new]),
        (3, 7, old, new, proof[1:]),
        (3, 7, old, new, []),
        (7, 3, new, old, proof),
        (0, 7, EMPTY_ROOT, new, []),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, []),
        (7, 7, new, new, [new]),
        (7, 7, new, old, []),
        (-1, 7, old, new, proof),
        (3, 2**64, old, new, proof),
    ]
    for args in bad_calls:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    verify_consistency(7, 7, new, new, [])


# --- properties ------------------------------------------------------------------------------


def _flipped(h: bytes) -> list[bytes]:
    return [
        h[:i] + bytes([h[i] ^ (1 << bit)]) + h[i + 1 :] for i in range(len(h)) for bit in range(8)
    ]


@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    n = draw(st.integers(min_value=1, max_value=2000))
    return _leaves(n, draw(st.binary(max_size=4))), draw(st.integers(0, n - 1))


@settings(max_examples=40, deadline=None)
@given(_tree_and_index())
def test_every_inclusion_proof_verifies_and_every_flipped_bit_fails(
    tree: tuple[list[bytes], int],
) -> None:
    d, index = tree
    n, root = len(d), root_hash(d)
    proof = inclusion_proof(index, d)
    verify_inclusion(d[index], index, n, proof, root)
    for i, p in enumerate(proof):
        for bad in _flipped(p):
            with pytest.raises(ProofError):
                verify_inclusion(d[index], index, n, [*proof[:i], bad, *proof[i + 1 :]], root)
    for bad in _flipped(root):
        with pytest.raises(ProofError):
            verify_inclusion(d[index], index, n, proof, bad)
    for bad in _flipped(d[index]):
        with pytest.raises(ProofError):
            verify_inclusion(bad, index, n, proof, root)


@settings(max_examples=40, deadline=None)
@given(_tree_and_index())
def test_every_consistency_proof_verifies_and_every_flipped_bit_fails(
    tree: tuple[list[bytes], int],
) -> None:
    d, last = tree
    old_size, n = last + 1, len(d)
    old_root, new_root = root_hash(d[:old_size]), root_hash(d)
    proof = consistency_proof(old_size, d)
    verify_consistency(old_size, n, old_root, new_root, proof)
    for i, p in enumerate(proof):
        for bad in _flipped(p):
            with pytest.raises(ProofError):
                verify_consistency(
                    old_size, n, old_root, new_root, [*proof[:i], bad, *proof[i + 1 :]]
                )
    for bad in _flipped(old_root):
        with pytest.raises(ProofError):
            verify_consistency(old_size, n, bad, new_root, proof)
    for bad in _flipped(new_root):
        with pytest.raises(ProofError):
            verify_consistency(old_size, n, old_root, bad, proof)


# --- the compact range -----------------------------------------------------------------------


def test_compact_range_root_equals_root_hash_for_every_prefix() -> None:
    d = _leaves(1100)
    cr = CompactRange()
    assert cr.root() == root_hash([]) and cr.size == 0
    for i, h in enumerate(d, start=1):
        cr.append(h)
        assert cr.size == i
        assert len(cr.hashes) == i.bit_count()
        assert cr.root() == root_hash(d[:i]), i


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 255, 256, 1000])
def test_compact_range_survives_serialisation(size: int) -> None:
    d = _leaves(size + 5)
    cr = CompactRange.from_leaf_hashes(d[:size])
    for restored in (CompactRange.from_bytes(cr.to_bytes()), CompactRange.from_json(cr.to_json())):
        assert restored == cr
        assert restored.root() == cr.root()
        restored.extend(d[size:])
        assert restored.root() == root_hash(d)
    assert cr.size == size  # the restored copies are independent of the original


def test_compact_range_rejects_malformed_state() -> None:
    good = CompactRange.from_leaf_hashes(_leaves(5))
    blob = good.to_bytes()
    for bad in (blob[:-1], blob + b"\x00" * 32, b"XXXXXX" + blob[6:], blob[:10]):
        with pytest.raises(ValueError):
            CompactRange.from_bytes(bad)
    obj = json.loads(good.to_json())
    for bad_obj in (
        {**obj, "size": 7},  # 7 needs three hashes
        {**obj, "hashes": obj["hashes"][:1]},
        {**obj, "hashes": [obj["hashes"][0][:-2], obj["hashes"][1]]},
        {**obj, "size": -5},
        {**obj, "size": True},
        {**obj, "extra": 1},
        {"size": 5},
    ):
        with pytest.raises(ValueError):
            CompactRange.from_json(json.dumps(bad_obj))
    with pytest.raises(ValueError):
        CompactRange.from_json("not json")
    with pytest.raises(ValueError, match="32 bytes"):
        good.append(b"\x00" * 31)


def test_compact_range_copy_is_independent() -> None:
    cr = CompactRange.from_leaf_hashes(_leaves(3))
    twin = cr.copy()
    twin.append(leaf_hash(b"more"))
    assert cr.size == 3 and twin.size == 4 and cr != twin


# --- canonical entries -----------------------------------------------------------------------


def test_canonical_entry_known_bytes() -> None:
    entry = {
        "record": "person/17",
        "version": 3,
        "op": "update",
        "fields": {
            "names": [{"script": "Hang", "text": "홍길동"}],  # the Korean "John Doe"
            "alive": None,
            "protected": True,
        },
        "note": 'tab\there "quoted" \\ \x01 \u2028',
    }
    want = (
        '{"fields":{"alive":null,"names":[{"script":"Hang","text":"홍길동"}],"protected":true},'
        '"note":"tab\\there \\"quoted\\" \\\\ \\u0001 \u2028","op":"update",'
        '"record":"person/17","version":3}'
    ).encode()
    assert canonical_entry(entry) == want
    assert entry_hash(entry) == leaf_hash(want)


def test_canonical_entry_sorts_keys_by_utf16_code_units() -> None:
    # RFC 8785 section 3.2.3's example, with U+FB33 (not NFC-stable) replaced by U+FF01.
    entry = {
        "\u20ac": "Euro Sign", "\r": "Carriage Return", "\uff01": "Fullwidth Exclamation",
        "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = [k for k in json.loads(canonical_entry(entry))]
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\uff01"]


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ({"weight": 1.5}, "$.weight"),
        ({"a": [1, {"b": 2.0}]}, "$.a[1].b"),
        ({"blob": b"\x00"}, "$.blob"),
        ({"n": 2**53}, "$.n"),
        ({"n": -(2**53)}, "$.n"),
        ({"name": "\u1100\u1161"}, "$.name"),  # conjoining jamo: NFD of 가
        ({"name": "\ufb33"}, "$.name"),
        ({"\u1100\u1161": 1}, '$["\u1100\u1161"]'),
        ({"a b": {"c": 0.5}}, '$["a b"].c'),
        ({"name": "\ud800"}, "$.name"),
        ({"tags": {"a", "b"}}, "$.tags"),
        ({1: "x"}, "$"),
    ],
)
def test_canonical_entry_rejects_values_without_a_canonical_form(
    entry: dict[object, object], where: str
) -> None:
    with pytest.raises(CanonicalEntryError) as info:
        canonical_entry(entry)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{where}:")


def test_canonical_entry_errors_do_not_reveal_the_value() -> None:
    secret = "\u1112\u1169\u11bc\u1100\u1175\u11af\u1103\u1169\u11bc"  # NFD Hangul name
    with pytest.raises(CanonicalEntryError) as info:
        canonical_entry({"witness": {"name": secret}})
    assert secret not in str(info.value) and "$.witness.name" in str(info.value)


def test_canonical_entry_rejects_non_mappings_and_deep_nesting() -> None:
    with pytest.raises(CanonicalEntryError, match="mapping"):
        canonical_entry([1, 2])  # type: ignore[arg-type]
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(CanonicalEntryError, match="deeper"):
        canonical_entry(deep)


_nfc_text = st.text(max_size=12).map(functools.partial(unicodedata.normalize, "NFC"))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _nfc_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_nfc_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_nfc_text, _json_values, max_size=6))
def test_canonical_entry_round_trips_and_is_stable(entry: dict[str, object]) -> None:
    encoded = canonical_entry(entry)
    decoded = json.loads(encoded)
    assert decoded == entry
    assert canonical_entry(decoded) == encoded
    if not any(ord(c) > 0xFFFF for c in encoded.decode()):
        # Within the BMP, UTF-16 order is code point order: Python's own JSON must agree.
        assert encoded == json.dumps(
            entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
