"""Signed tree heads: C2SP tlog-checkpoint bodies inside C2SP signed notes, Ed25519 keys.

A checkpoint commits to the log's Merkle root at one size::

    example.org/sillok/archive
    1234
    <base64 root hash>

    — example.org/sillok/archive <base64(4-byte key id || 64-byte Ed25519 signature)>

The format is exactly that of https://c2sp.org/tlog-checkpoint and https://c2sp.org/signed-note,
so tools of the transparency-log ecosystem (Go's ``golang.org/x/mod/sumdb/note``, witnesses)
can check Sillok's tree heads, and Sillok can check theirs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ED25519_TYPE = 0x01
"""The signed-note signature type byte for Ed25519."""

MAX_SIGNATURES = 100
"""The most signature lines a note may carry (the Go reference implementation's limit)."""

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = (1 << 64) - 1
_HASH_SIZE = 32
_SIGNER_KEY_PREFIX = "PRIVATE+KEY+"


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, unsigned by a known key, or badly signed."""


def _has_control_character(text: str, allow_newline: bool) -> bool:
    return any(ord(c) < 0x20 and not (allow_newline and c == "\n") for c in text)


def _b64decode(text: str, what: str) -> bytes:
    # Only the canonical standard encoding is accepted, so each value has one spelling.
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointError(f"{what} is not valid base64: {text[:60]!r}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64: {text[:60]!r}")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def is_valid_key_name(name: str) -> bool:
    """Tell whether ``name`` may name a note key: non-empty, no Unicode spaces, no ``+``."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(c.isspace() for c in name)
        and not _has_control_character(name, allow_newline=False)
    )


def key_id(name: str, public_key: bytes) -> int:
    """Return the Ed25519 key id: SHA-256(name || 0x0A || 0x01 || public key)[:4] as uint32."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check the fields against tlog-checkpoint (non-empty lines, 32-byte root...)."""
        if not isinstance(self.origin, str) or not self.origin:
            raise CheckpointError("checkpoint origin must be a non-empty string")
        if _has_control_character(self.origin, allow_newline=False):
            raise CheckpointError(f"checkpoint origin {self.origin!r} holds a control character")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise CheckpointError(f"checkpoint size must be an integer, got {self.size!r}")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is outside 0..2**64-1")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH_SIZE:
            raise CheckpointError(f"checkpoint root must be {_HASH_SIZE} bytes")
        if isinstance(self.extensions, str):
            raise CheckpointError("checkpoint extensions must be a sequence of lines, not a str")
        extensions = tuple(self.extensions)
        for line in extensions:
            if not isinstance(line, str) or not line:
                raise CheckpointError("checkpoint extension lines must be non-empty strings")
            if _has_control_character(line, allow_newline=False):
                raise CheckpointError(f"checkpoint extension line {line!r} holds a control "
                                      "character or newline")
        object.__setattr__(self, "extensions", extensions)

    def body(self) -> str:
        """Return the note text: origin, size, base64 root, extensions, each ending in newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (the part a signature covers).

        Raises:
            CheckpointError: the text is not a well-formed checkpoint body.
        """
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint body must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint body has {len(lines)} lines, needs at least 3")
        if any(line == "" for line in lines):
            raise CheckpointError("checkpoint body holds an empty line")
        origin, size_text, root_text, *extensions = lines
        if not _TREE_SIZE.fullmatch(size_text) or int(size_text) > _MAX_TREE_SIZE:
            raise CheckpointError(
                f"checkpoint tree size {size_text[:30]!r} is not a decimal uint64 "
                "without leading zeros"
            )
        root = _b64decode(root_text, "checkpoint root hash")
        if len(root) != _HASH_SIZE:
            raise CheckpointError(f"checkpoint root hash is {len(root)} bytes, not {_HASH_SIZE}")
        return cls(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class Verifier:
    """A known Ed25519 note key: its name, key id and public key."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_key(cls, vkey: str) -> Verifier:
        """Parse a verifier key ``<name>+<8 hex digit key id>+<base64(0x01 || public key)>``.

        Raises:
            CheckpointError: the key is malformed, not Ed25519, or its id does not match.
        """
        name, sep1, rest = vkey.partition("+")
        id_hex, sep2, key_b64 = rest.partition("+")
        if not (sep1 and sep2) or not is_valid_key_name(name):
            raise CheckpointError(f"verifier key {vkey[:80]!r} is not name+id+key")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", id_hex):
            raise CheckpointError(f"verifier key id {id_hex[:20]!r} is not 8 hex digits")
        raw = _b64decode(key_b64, "verifier public key")
        if len(raw) != 1 + 32 or raw[0] != ED25519_TYPE:
            raise CheckpointError(f"verifier key {name!r} is not an Ed25519 note key")
        public = raw[1:]
        if key_id(name, public) != int(id_hex, 16):
            raise CheckpointError(f"verifier key {name!r}: key id {id_hex} does not match the key")
        return cls(name, int(id_hex, 16), Ed25519PublicKey.from_public_bytes(public))

    def key_string(self) -> str:
        """Return the verifier key in ``<name>+<hex id>+<base64 key>`` form."""
        public = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return f"{self.name}+{self.key_id:08x}+{_b64encode(bytes([ED25519_TYPE]) + public)}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Tell whether ``signature`` (64 bytes, no key id) signs the note text."""
        if len(signature) != 64:
            return False
        try:
            self.public_key.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            return False
        return True


class Signer:
    """An Ed25519 note signing key with its key name (by convention the log's origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Wrap a private key under ``name``.

        Raises:
            CheckpointError: the name is empty or holds spaces or ``+``.
        """
        if not is_valid_key_name(name):
            raise CheckpointError(
                f"key name {name!r} must be non-empty, without spaces, '+' or control characters"
            )
        self.name = name
        self._private_key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(name, self._public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """Make a new random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, name: str, raw: bytes) -> Signer:
        """Load a key from its raw 32-byte private seed (as sealed by the archive).

        Raises:
            CheckpointError: ``raw`` is not 32 bytes.
        """
        if len(raw) != 32:
            raise CheckpointError(f"an Ed25519 private key is 32 bytes, got {len(raw)}")
        return cls(name, Ed25519PrivateKey.from_private_bytes(bytes(raw)))

    def private_bytes(self) -> bytes:
        """Return the raw 32-byte private seed. Seal it before storing it anywhere."""
        return self._private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    @classmethod
    def from_signer_key(cls, skey: str) -> Signer:
        """Load a Go-style signer key ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``.

        Raises:
            CheckpointError: the key is malformed or its id does not match.
        """
        if not skey.startswith(_SIGNER_KEY_PREFIX):
            raise CheckpointError("signer key must start with PRIVATE+KEY+")
        name, sep1, rest = skey[len(_SIGNER_KEY_PREFIX):].partition("+")
        id_hex, sep2, key_b64 = rest.partition("+")
        if not (sep1 and sep2) or not re.fullmatch(r"[0-9a-fA-F]{8}", id_hex):
            raise CheckpointError("signer key is not PRIVATE+KEY+name+id+key")
        raw = _b64decode(key_b64, "signer private key")
        if len(raw) != 33 or raw[0] != ED25519_TYPE:
            raise CheckpointError(f"signer key {name!r} is not an Ed25519 note key")
        signer = cls.from_private_bytes(name, raw[1:])
        if signer.key_id != int(id_hex, 16):
            raise CheckpointError(f"signer key {name!r}: key id {id_hex} does not match the key")
        return signer

    def signer_key(self) -> str:
        """Return the Go-style ``PRIVATE+KEY+...`` string. It is secret: seal it."""
        seed = bytes([ED25519_TYPE]) + self.private_bytes()
        return f"{_SIGNER_KEY_PREFIX}{self.name}+{self.key_id:08x}+{_b64encode(seed)}"

    def verifier(self) -> Verifier:
        """Return the public half as a :class:`Verifier`."""
        return Verifier(self.name, self.key_id, self._private_key.public_key())

    def verifier_key(self) -> str:
        """Return the public verifier key string ``<name>+<hex id>+<base64(0x01 || key)>``."""
        return self.verifier().key_string()

    def signature_line(self, text: str) -> str:
        """Return this key's signature line over a note text, newline included."""
        _check_note_text(text)
        signature = self._private_key.sign(text.encode("utf-8"))
        blob = self.key_id.to_bytes(4, "big") + signature
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(blob)}\n"

    def sign_note(self, text: str) -> str:
        """Return the signed note: ``text``, a blank line, this key's signature line.

        Raises:
            CheckpointError: the text is empty, lacks its final newline or holds control
                characters.
        """
        return f"{text}\n{self.signature_line(text)}"

    def sign(self, cp: Checkpoint) -> str:
        """Return the signed note text of a checkpoint."""
        return self.sign_note(cp.body())

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise CheckpointError("note text must be non-empty and end in a newline")
    if _has_control_character(text, allow_newline=True):
        raise CheckpointError("note text holds an ASCII control character other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError("note text is not valid Unicode (lone surrogate)") from None


def _load_verifiers(verifier_keys: Sequence[str | Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for vkey in verifier_keys:
        verifier = vkey if isinstance(vkey, Verifier) else Verifier.from_key(vkey)
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot].key_string() != verifier.key_string():
            raise CheckpointError(
                f"two verifier keys share name {verifier.name!r} and id {verifier.key_id:08x}"
            )
        known[slot] = verifier
    return known


def open_note(note: str | bytes, verifier_keys: Sequence[str | Verifier]) -> str:
    """Verify a signed note and return its text (the part the signatures cover).

    Signatures from unknown keys are ignored; a signature from a known key that does not
    verify rejects the whole note; at least one known key must have signed.

    Raises:
        CheckpointError: the note is malformed, badly signed or signed by no known key.
    """
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("signed note is not valid UTF-8") from None
    if _has_control_character(note, allow_newline=True):
        raise CheckpointError("signed note holds an ASCII control character other than newline")
    known = _load_verifiers(verifier_keys)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("signed note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    _check_note_text(text)
    if not block.endswith("\n"):
        raise CheckpointError("signed note must end in a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"signed note has {len(lines)} signatures, over {MAX_SIGNATURES}")
    verified = 0
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIGNATURE_PREFIX):
            raise CheckpointError(f"signature line {number} does not start with an em dash")
        name, sep, b64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not sep or not is_valid_key_name(name) or not b64:
            raise CheckpointError(f"signature line {number} is not '— <key name> <signature>'")
        blob = _b64decode(b64, f"signature on line {number}")
        if len(blob) < 5:
            raise CheckpointError(f"signature on line {number} is too short")
        verifier = known.get((name, int.from_bytes(blob[:4], "big")))
        if verifier is None:
            continue  # another party's key (a witness, a rotated key): ignored by the spec
        if not verifier.verify(text, blob[4:]):
            raise CheckpointError(f"signature by {name!r} does not verify")
        verified += 1
    if not verified:
        raise CheckpointError("signed note carries no signature from a known key")
    return text


def open_checkpoint(
    note: str | bytes, verifier_keys: Sequence[str | Verifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint note and parse it.

    Args:
        note: the signed note text.
        verifier_keys: trusted verifier keys (strings or :class:`Verifier`); at least one
            must have signed.
        origin: when given, the checkpoint's origin line must equal it.

    Raises:
        CheckpointError: the note is malformed, not signed by a known key, badly signed, or
            from another origin.
    """
    checkpoint = Checkpoint.from_body(open_note(note, verifier_keys))
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    return checkpoint


def signature_names(note: str) -> list[str]:
    """The key names of a note's signature lines, in order (not checked: see :func:`open_note`)."""
    split = note.rfind("\n\n")
    if split < 0:
        return []
    return [
        line[len(_SIGNATURE_PREFIX) :].partition(" ")[0]
        for line in note[split + 2 :].split("\n")
        if line.startswith(_SIGNATURE_PREFIX)
    ]


def is_signed(note: str, name: str | None = None) -> bool:
    """Whether a stored checkpoint note carries signatures (any, or one by the key ``name``:
    the organisation's key is named after the log's origin, authors' keys
    :func:`author_key_name`)."""
    names = signature_names(note)
    return bool(names) if name is None else name in names


def note_text(note: str) -> str:
    """The text of a note (what its signatures cover), or the note itself when unsigned."""
    split = note.rfind("\n\n")
    return note if split < 0 else note[: split + 1]


def author_key_name(origin: str) -> str:
    """The key name of the users' author keys on the checkpoints of a log (each key has its
    own id; the name says nothing about who the author is)."""
    return f"{origin}/author"


def signed_by(text: str, signers: Sequence[Signer]) -> str:
    """A note of ``text`` with one signature line per signer (unsigned text when none)."""
    if not signers:
        return text
    return f"{text}\n{''.join(s.signature_line(text) for s in signers)}"


def only_signed_by(note: str, name: str) -> str:
    """The note with only the signature lines of the key ``name`` (what leaves the archive:
    the organisation's signature, not which author wrote the batch)."""
    text = note_text(note)
    if text == note:
        return note
    lines = [
        f"{line}\n"
        for line in note[len(text) + 1 :].split("\n")
        if line.startswith(f"{_SIGNATURE_PREFIX}{name} ")
    ]
    return f"{text}\n{''.join(lines)}" if lines else text


def add_signature(note: str, signer: Signer) -> str:
    """A note with one more signature line (by ``signer``, over the same text)."""
    text = note_text(note)
    return signed_by(text, [signer]) if text == note else note + signer.signature_line(text)


def open_unsigned(note: str, origin: str | None = None) -> Checkpoint:
    """Parse an unsigned checkpoint note (its body alone); it proves nothing by itself.

    Raises:
        CheckpointError: the note is not a well-formed checkpoint body, or of another origin.
    """
    checkpoint = Checkpoint.from_body(note)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}"
        )
    return checkpoint


_TRANSITION = "sillok key transition"


@dataclass(frozen=True)
class KeyTransition:
    """A change of the organisation's checkpoint key at a rotation.

    Checkpoints of size up to ``size`` are signed by ``old_key``, later ones by ``new_key``.
    The note saying so is signed by both keys, so the chain from the first key to the current
    one can be followed by anyone who trusts the first (``verify``, ``proof verify``).
    """

    old_key: str
    size: int
    new_key: str
    note: str


def sign_transition(old: Signer, new: Signer, origin: str, size: int) -> KeyTransition:
    """The transition from ``old`` to ``new`` after tree size ``size``, signed by both."""
    text = f"{_TRANSITION}\n{origin}\n{size}\n{new.verifier_key()}\n"
    note = f"{text}\n{old.signature_line(text)}{new.signature_line(text)}"
    return KeyTransition(old.verifier_key(), size, new.verifier_key(), note)


def open_transition(old_key: str, note: str, origin: str) -> KeyTransition:
    """Check a transition note against the key it leaves (and the key it names).

    Raises:
        CheckpointError: malformed, of another origin, or not signed by both keys.
    """
    lines = open_note(note, [old_key]).split("\n")
    if len(lines) != 5 or lines[0] != _TRANSITION or not _TREE_SIZE.fullmatch(lines[2]):
        raise CheckpointError("a key transition note is malformed")
    if lines[1] != origin:
        raise CheckpointError(f"a key transition is for the log {lines[1]!r}, not {origin!r}")
    new_key = lines[3]
    open_note(note, [new_key])  # the new key signed it too: it was made by the rotation
    return KeyTransition(old_key, int(lines[2]), new_key, note)


def follow_transitions(first_key: str, notes: Sequence[str], origin: str) -> list[KeyTransition]:
    """The chain of transitions from ``first_key``, each checked by the key before it.

    Raises:
        CheckpointError: a link does not verify, or the sizes do not grow.
    """
    chain: list[KeyTransition] = []
    key = first_key
    for note in notes:
        link = open_transition(key, note, origin)
        if chain and link.size < chain[-1].size:
            raise CheckpointError("the key transitions are out of order")
        chain.append(link)
        key = link.new_key
    return chain


def key_for_size(first_key: str, chain: Sequence[KeyTransition], size: int) -> str:
    """The key that signs checkpoints of tree size ``size`` along a transition chain."""
    key = first_key
    for link in chain:
        if size <= link.size:
            return key
        key = link.new_key
    return key
