"""Rotating the keys: every key a removed user may have held, for every user at once.

Removing a user deletes their copy of the keys; a rotation afterwards (``sillok keys
rotate``) makes any copy they kept useless from then on: a new database key, seal master key
(field keys re-wrapped), evidence key (every file's data key re-wrapped under it, so no copy
keeps an evidence key of an earlier epoch: :mod:`sillok.security.evidence`), key-file key, and a new
checkpoint-signing key whose transition, signed by the old and the new key, joins the chain
that ``verify`` and ``proof verify`` follow. The keys that key only what the database key reads
(log salts, pseudonyms, refs) stay (docs/threat-model.md, note 2). The steps
are ordered so that a crash at any moment leaves an archive that opens (:func:`rotate_keys`),
and opening (:func:`open_store`) tries the current database key and then the pending one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sillok.errors import ArchiveError, InvalidInput
from sillok.folder import KEYS_FILE
from sillok.security.evidence import STORE, EvidenceKeys
from sillok.security.keyfile import KeyFile
from sillok.security.keys import EVIDENCE, KEY_FILE, SIGNING, ArchiveKeys, derive_key
from sillok.security.policy import may
from sillok.store import Store
from sillok.store.database_file import rekey_database
from sillok.store.dialects import Dialect

if TYPE_CHECKING:
    from sillok.vault import Vault


def open_store(
    dialect: Dialect, keys: ArchiveKeys, pending: ArchiveKeys | None
) -> tuple[Store, ArchiveKeys]:
    """Open the store with the database key, or with the pending one of a rotation.

    A rotation rekeys the database between writing the pending keys and making them
    current; whichever key opens it is the right one.
    """
    store = Store(dialect, derive_key(keys.database, "database"))
    try:
        store.check()
        return store, keys
    except ArchiveError:
        store.close()
        if pending is None:
            raise
    store = Store(dialect, derive_key(pending.database, "database"))
    store.check()
    return store, pending


def rotate_keys(vault: Vault) -> dict[str, Any]:
    """Replace the database key and the seal master key; every copy gets the new keys.

    The steps are ordered so that a crash anywhere leaves an archive that opens:

    1. every user's copy gets the new keys as *pending* (``keys.json`` written atomically);
    2. in one transaction, the field keys are re-wrapped under the new seal master key and
       every evidence file's data key under the new evidence key, each in one batch of
       writes and log entries (files sealed before the data keys get one), so the new
       copies hold no evidence key of an earlier epoch (until step 4 the sealer and the
       attachments accept the keys of either copy);
    3. the SQLCipher database is re-keyed (``PRAGMA rekey``, one transaction in the WAL:
       before its commit the old key opens it, after it the new one);
    4. the pending keys become the current ones.

    Opening tries the current database key and then the pending one, and running the
    rotation again finishes an interrupted one.

    Returns:
        How many users' copies, field keys and evidence data keys now use the new keys, and
        how many files sealed before the data keys could get no key (their stored file is
        missing; ``verify`` reports them).
    Raises:
        InvalidInput: the role may not manage keys, its copy lacks the seal key, or a user
            still holds a copy of the kind made before users existed.
    """
    if not may(vault.role, "keys"):
        raise InvalidInput(f"the {vault.role} role may not manage users or keys")
    keys = vault.keys
    if keys.seal is None:
        raise InvalidInput("rotating the keys needs a copy that holds the seal key")
    keyfile = KeyFile.load(vault.folder / KEYS_FILE)
    old_kind = [w.holder for w in keyfile.wrapped if w.version == 1]
    if old_kind:
        raise InvalidInput(f"these users must log in once before a rotation: {', '.join(old_kind)}")
    # An interrupted rotation is finished with the keys it started.
    new = _current_evidence_only(vault.pending_keys or keys.rotated())
    if vault.pending_keys is not None and vault.opened_with_pending:
        keys = vault.previous_keys or keys
    # Nothing is sealed to an entry an administrator did not make as it is (a public key
    # written into another's entry obtains nothing): checked before a byte is written.
    file_keys = [k for k in (keys.get(KEY_FILE), new.get(KEY_FILE)) if k]
    keyfile.check_entries(*file_keys)
    keyfile = keyfile.named(*file_keys)  # who holds each copy, from the copies' cards
    # 1. pending copies for everyone
    keyfile = replace(
        keyfile,
        wrapped=tuple(
            w.with_keys(keys.for_role(w.role), new.for_role(w.role)) for w in keyfile.wrapped
        ),
    )
    keyfile.save()
    # 2. field keys under the new seal master key, evidence data keys under the new evidence
    # key; the new signing key and its transition
    assert new.seal is not None
    new_signing = new.purposes[SIGNING]
    copies = [new, vault.keys, vault.pending_keys, vault.previous_keys]
    evidence = EvidenceKeys(
        vault.store.dialect,
        vault.folder / STORE,
        [k for copy in copies if copy is not None for k in copy.evidence_keys()],
    )
    with vault.store.transaction() as conn:
        files = evidence.rewrap(conn, new.purposes[EVIDENCE])
        rewrapped = vault.sealer.rewrap(conn, new.seal)
        if not vault.log.seed_sealed_under(conn, new_signing):
            vault.log.rotate_signer(conn, new_signing)
    # 3. the database file under the new key
    new_db_key = derive_key(new.database, "database")
    rekey_database(vault.store, new_db_key)
    store = Store(vault.store.dialect, new_db_key)
    store.check()
    # 4. the new keys are the current ones
    replace(
        keyfile, wrapped=tuple(w.with_keys(new.for_role(w.role)) for w in keyfile.wrapped)
    ).authenticated(new.purposes[KEY_FILE]).save()
    vault.attach_hooks(store)
    vault.store.close()
    vault.store = store
    vault.keys = new
    vault.audit.record("keys_rotate", detail={"field_keys": rewrapped, **files})
    return {"users": len(keyfile.wrapped), "field_keys": rewrapped, **files}


def _current_evidence_only(keys: ArchiveKeys) -> ArchiveKeys:
    """``keys`` without the evidence keys of earlier epochs: once every data key is wrapped
    under the current evidence key, no copy needs them (and a removed user's old key then
    opens no data key the database holds)."""
    retired = set(keys.evidence_keys()[1:])
    return replace(keys, purposes={p: k for p, k in keys.purposes.items() if k not in retired})
