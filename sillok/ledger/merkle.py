"""The Merkle tree: RFC 9162 hashing, inclusion and consistency proofs, the compact range.

Every change to a record appends one entry to an append-only log. The log is a Merkle tree
hashed exactly as in RFC 9162 (Certificate Transparency v2) and RFC 6962:

- leaf hash = SHA-256(0x00 || entry)
- node hash = SHA-256(0x01 || left || right)
- the root of the empty tree is SHA-256 of the empty string
- a tree of n > 1 leaves splits at k, the largest power of two smaller than n.

This module is pure computation: the archive stores leaf hashes and calls these functions.
What a leaf hashes (the canonical bytes of a log entry) is :mod:`sillok.ledger.entries`.
Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step (the algorithms of
transparency-dev/merkle), so a proof that verifies here verifies with any conforming client.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
"""Length in bytes of every hash in the log (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root hash of the empty tree: SHA-256 of the empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_MAX_TREE_SIZE = (1 << 64) - 1  # tree sizes are uint64 in RFC 9162 and in checkpoints


class ProofError(ValueError):
    """A Merkle proof, a root or a tree size failed verification or is malformed."""


# --- hashing ------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 9162 leaf hash of one log entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes, got {type(value).__name__}")
    value = bytes(value)
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")
    return value


def _check_leaf_hashes(leaf_hashes: Sequence[bytes]) -> None:
    # One pass over the lengths (cheap next to hashing) so a corrupt stored hash is named
    # here rather than silently producing a wrong root.
    lengths = set(map(len, leaf_hashes))
    if lengths - {HASH_SIZE}:
        bad = next(i for i, h in enumerate(leaf_hashes) if len(h) != HASH_SIZE)
        raise ValueError(
            f"leaf hash at index {bad} is {len(leaf_hashes[bad])} bytes, expected {HASH_SIZE}"
        )


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) by pairing each level left to right.

    Carrying an odd last node up a level unchanged builds exactly the RFC tree, because the
    RFC's split at the largest power of two keeps every left subtree perfect.
    """
    if end <= start:
        return EMPTY_ROOT
    level = list(leaf_hashes[start:end])
    sha256 = hashlib.sha256
    prefix = _NODE_PREFIX
    while len(level) > 1:
        paired = [sha256(prefix + left + right).digest() for left, right in
                  zip(level[0::2], level[1::2], strict=False)]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash (MTH) over leaf hashes, in O(n) time without recursion.

    Raises:
        ValueError: a leaf hash is not 32 bytes long.
    """
    _check_leaf_hashes(leaf_hashes)
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


# --- proof generation (RFC 9162 2.1.3.1 and 2.1.4.1) ---------------------------------------


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the audit path for the leaf at ``index`` in the tree over ``leaf_hashes``.

    The path lists sibling subtree roots from the leaf up (RFC 9162 section 2.1.3.1).
    It costs O(n) hashing: each sibling subtree is hashed from its leaves once.

    Raises:
        ValueError: ``index`` is outside the tree, or a leaf hash is not 32 bytes long.
    """
    size = len(leaf_hashes)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ValueError(f"leaf index {index!r} is outside a tree of size {size}")
    _check_leaf_hashes(leaf_hashes)
    proof: list[bytes] = []
    level = 0
    node = index
    # Walk up the levels; at each one the sibling covers an aligned block of 2**level leaves,
    # cut short at the tree's right edge. A missing sibling means the node is carried up.
    while (size - 1) >> level:
        sibling = node ^ 1
        first = sibling << level
        if first < size:
            proof.append(_subtree_root(leaf_hashes, first, min(first + (1 << level), size)))
        node >>= 1
        level += 1
    return proof


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return the proof that the tree of ``old_size`` leaves is a prefix of the current tree.

    The current tree is the one over all of ``leaf_hashes`` (RFC 9162 section 2.1.4.1).
    An equal size gives the empty proof. It costs O(n) hashing.

    Raises:
        ValueError: ``old_size`` is not in 1..len(leaf_hashes), or a leaf hash is malformed.
    """
    size = len(leaf_hashes)
    if isinstance(old_size, bool) or not isinstance(old_size, int) or not 0 < old_size <= size:
        raise ValueError(
            f"old tree size {old_size!r} must be between 1 and the current size {size}"
        )
    _check_leaf_hashes(leaf_hashes)
    # SUBPROOF(m, D[start:end], complete) unrolled: each step records one sibling subtree;
    # the recursion emits them innermost first, hence the final reversal.
    reversed_proof: list[bytes] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            reversed_proof.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            reversed_proof.append(_subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
            complete = False
    if not complete:
        reversed_proof.append(_subtree_root(leaf_hashes, start, end))
    reversed_proof.reverse()
    return reversed_proof


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------


def _check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{what} must be an integer, got {type(value).__name__}")
    if not 0 <= value <= _MAX_TREE_SIZE:
        raise ProofError(f"{what} {value} is outside 0..2**64-1")
    return value


def _inclusion_proof_length(index: int, size: int) -> int:
    # Levels where the paths to `index` and to the last leaf diverge all have a sibling;
    # above them, only the levels where `index`'s block is a right child do.
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is the leaf at ``index`` of the tree of ``tree_size`` with ``root``.

    Follows RFC 9162 section 2.1.3.2. Returns None when the proof holds.

    Raises:
        ProofError: the proof does not verify or is malformed (index >= size, wrong number of
            hashes, a hash that is not 32 bytes, a root mismatch).
    """
    index = _check_size(index, "leaf index")
    tree_size = _check_size(tree_size, "tree size")
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is not below tree size {tree_size}")
    leaf = _check_hash(leaf_hash, "leaf hash")
    want_root = _check_hash(root, "root hash")
    path = [_check_hash(p, f"proof hash {i}") for i, p in enumerate(proof)]
    want = _inclusion_proof_length(index, tree_size)
    if len(path) != want:
        raise ProofError(
            f"inclusion proof has {len(path)} hashes; index {index} in a tree of "
            f"{tree_size} needs {want}"
        )
    fn, sn = index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # if LSB(fn) is not set, until it is or fn is 0
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is high")
    if r != want_root:
        raise ProofError(
            f"inclusion proof for index {index} does not lead to the given root "
            f"of tree size {tree_size}"
        )


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    # Go's decomposition (transparency-dev/merkle): the path from old_size-1 to the new root,
    # minus the levels inside the old tree's rightmost perfect subtree, plus that subtree's
    # root unless old_size itself is a power of two.
    shift = (old_size & -old_size).bit_length() - 1
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    seed = 0 if old_size == 1 << shift else 1
    return seed + inner - shift + border


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of the newer tree.

    Follows RFC 9162 section 2.1.4.2 for 0 < old_size < new_size. Equal sizes need an empty
    proof and equal roots. An old size of 0 is rejected: every tree extends the empty tree,
    so such a proof would prove nothing (as the transparency-dev test vectors require).

    Raises:
        ProofError: the proof does not verify or is malformed.
    """
    old_size = _check_size(old_size, "old tree size")
    new_size = _check_size(new_size, "new tree size")
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if len(proof) != 0:
            raise ProofError(
                f"trees of equal size {old_size} need an empty proof, got {len(proof)} hashes"
            )
        if bytes(old_root) != bytes(new_root):
            raise ProofError(f"trees of equal size {old_size} have different roots")
        return
    first_hash = _check_hash(old_root, "old root hash")
    second_hash = _check_hash(new_root, "new root hash")
    path = [_check_hash(p, f"proof hash {i}") for i, p in enumerate(proof)]
    if not path:
        raise ProofError(f"consistency proof from size {old_size} to {new_size} is empty")
    want = _consistency_proof_length(old_size, new_size)
    if len(path) != want:
        raise ProofError(
            f"consistency proof has {len(path)} hashes; sizes {old_size} to {new_size} "
            f"need {want}"
        )
    if old_size & (old_size - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # if LSB(fn) is not set, until it is or fn is 0
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is high")
    if fr != first_hash:
        raise ProofError(f"consistency proof does not lead to the old root of size {old_size}")
    if sr != second_hash:
        raise ProofError(f"consistency proof does not lead to the new root of size {new_size}")


# --- the append-only frontier --------------------------------------------------------------


class CompactRange:
    """The state of an append-only Merkle tree in O(log n) memory (its "compact range").

    It keeps the roots of the perfect subtrees that cover the leaves so far, largest first:
    one per set bit of ``size``. Appending merges equal-sized subtrees like a binary carry.
    The archive persists it with :meth:`to_bytes` or :meth:`to_json` to extend the log
    without reading every leaf again.
    """

    __slots__ = ("_size", "_hashes")

    _MAGIC = b"SLKCR1"

    def __init__(self) -> None:
        """Start an empty tree."""
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect subtree roots, largest (leftmost) first."""
        return tuple(self._hashes)

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> CompactRange:
        """Build the range over the given leaf hashes."""
        cr = cls()
        cr.extend(leaf_hashes)
        return cr

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash (32 bytes).

        Raises:
            ValueError: the leaf hash is not 32 bytes.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        if self._size == _MAX_TREE_SIZE:
            raise ValueError("the tree is full (2**64-1 leaves)")
        hashes = self._hashes
        merged = bytes(leaf_hash)
        carry = self._size
        # Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
        while carry & 1:
            merged = hashlib.sha256(_NODE_PREFIX + hashes.pop() + merged).digest()
            carry >>= 1
        hashes.append(merged)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes in order (as :meth:`append` one by one, with less overhead).

        Raises:
            ValueError: a leaf hash is not 32 bytes; the leaves before it are appended.
        """
        hashes, size, sha256, prefix = self._hashes, self._size, hashlib.sha256, _NODE_PREFIX
        try:
            for leaf in leaf_hashes:
                if len(leaf) != HASH_SIZE:
                    raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
                if size == _MAX_TREE_SIZE:
                    raise ValueError("the tree is full (2**64-1 leaves)")
                merged = bytes(leaf)
                carry = size
                while carry & 1:
                    merged = sha256(prefix + hashes.pop() + merged).digest()
                    carry >>= 1
                hashes.append(merged)
                size += 1
        finally:
            self._size = size

    def root(self) -> bytes:
        """Return the root hash of the tree so far (the empty-tree root when size is 0)."""
        if not self._hashes:
            return EMPTY_ROOT
        it = reversed(self._hashes)
        r = next(it)
        for h in it:
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactRange:
        """Return an independent copy."""
        cr = CompactRange()
        cr._size = self._size
        cr._hashes = list(self._hashes)
        return cr

    def to_bytes(self) -> bytes:
        """Serialise as ``b"SLKCR1"`` || size (8 bytes, big-endian) || the subtree roots."""
        return self._MAGIC + self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CompactRange:
        """Restore a range written by :meth:`to_bytes`.

        Raises:
            ValueError: the data is not a well-formed compact range.
        """
        data = bytes(data)
        head = len(cls._MAGIC) + 8
        if len(data) < head or not data.startswith(cls._MAGIC):
            raise ValueError("not a serialised compact range (bad header)")
        size = int.from_bytes(data[len(cls._MAGIC) : head], "big")
        body = data[head:]
        return cls._restore(size, [body[i : i + HASH_SIZE] for i in
                                   range(0, len(body), HASH_SIZE)], len(body) % HASH_SIZE)

    def to_json(self) -> str:
        """Serialise as JSON: ``{"hashes": [hex, ...], "size": n}``."""
        return json.dumps(
            {"hashes": [h.hex() for h in self._hashes], "size": self._size},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> CompactRange:
        """Restore a range written by :meth:`to_json`.

        Raises:
            ValueError: the text is not a well-formed compact range.
        """
        try:
            obj = json.loads(text)
            size = obj["size"]
            hashes = [bytes.fromhex(h) for h in obj["hashes"]]
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"not a serialised compact range: {exc}") from None
        if isinstance(size, bool) or not isinstance(size, int) or set(obj) != {"size", "hashes"}:
            raise ValueError("not a serialised compact range (bad fields)")
        return cls._restore(size, hashes, 0)

    @classmethod
    def _restore(cls, size: int, hashes: list[bytes], trailing: int) -> CompactRange:
        if not 0 <= size <= _MAX_TREE_SIZE:
            raise ValueError(f"compact range size {size} is outside 0..2**64-1")
        if trailing or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"compact range hashes must be {HASH_SIZE} bytes each")
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a compact range of size {size} holds {size.bit_count()} hashes, "
                f"got {len(hashes)}"
            )
        cr = cls()
        cr._size = size
        cr._hashes = hashes
        return cr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"
