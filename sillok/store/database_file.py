"""What is done to an SQLCipher store's database file as a whole: an online copy, a new key.

Both go through the driver's own connection (SQLite's online backup API, ``PRAGMA rekey``):
neither is a statement SQLAlchemy can run on a pooled connection.
"""

from __future__ import annotations

from pathlib import Path

import sqlcipher3

from sillok.store import Store


def _keying(key: bytes) -> str:
    # The key is raw bytes (derived, never a passphrase): SQLCipher's x'...' form takes them
    # as they are, without its own key derivation. PRAGMAs take no bound parameters.
    return f"\"x'{key.hex()}'\""


def copy_database(store: Store, target: Path, key: bytes) -> None:
    """Copy an SQLCipher store into a new file, a consistent snapshot encrypted under ``key``
    (the store's own), with SQLite's online backup API; the copy keeps no write-ahead log."""
    raw = store.engine.raw_connection()
    try:
        copy = sqlcipher3.connect(str(target))
        try:
            copy.execute(f"PRAGMA key = {_keying(key)}")
            raw.driver_connection.backup(copy)  # type: ignore[union-attr]
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
    finally:
        raw.close()


def rekey_database(store: Store, key: bytes) -> None:
    """Re-encrypt an SQLCipher store's file under a new key, in one transaction in the
    write-ahead log (before it commits the old key opens the file, after it the new one).

    A PostgreSQL store is left as it is: the server does not use the archive's database key.
    """
    if store.dialect.name != "sqlcipher":
        return
    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.execute(f"PRAGMA rekey = {_keying(key)}")  # type: ignore[union-attr]
    finally:
        raw.close()
