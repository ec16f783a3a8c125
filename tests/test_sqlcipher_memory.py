"""SQLCipher's memory security stays on, and the heap it locks stays bounded.

With ``cipher_memory_security`` every block SQLite allocates is locked and every freed one
unlocked; each locked island splits the process's memory mappings. Pooled connections with
large page caches under load split them past ``vm.max_map_count``, and SQLite then failed with
SQLITE_NOMEM (``MemoryError`` from the search page at 100,000 acts). The process's soft heap
limit bounds what every connection together allocates. Reproducing the failure itself takes a
large archive and minutes of concurrent reads (docs/web.md, "Load"); these tests hold the
mechanism that prevents it.
"""

from __future__ import annotations

import resource
import threading
from pathlib import Path

from sillok.archive import Archive
from sillok.store.dialects import HEAP_LIMIT
from tests.conftest import FAST, PASSPHRASE


def _pragma(archive: Archive, name: str) -> int:
    with archive.vault.store.reading() as conn:
        return int(conn.exec_driver_sql(f"PRAGMA {name}").scalar() or 0)


def test_every_connection_bounds_the_heap_and_keeps_memory_security(
    sqlcipher_archive: Archive,
) -> None:
    assert _pragma(sqlcipher_archive, "soft_heap_limit") == HEAP_LIMIT
    assert _pragma(sqlcipher_archive, "cipher_memory_security") == 1
    # what lets a page be wiped on free is unchanged; the bound is well under the
    # 20 pooled connections' 64 MiB caches that failed
    assert HEAP_LIMIT <= 64 * 1024 * 1024


def test_the_bound_holds_for_connections_opened_by_other_threads(tmp_path: Path) -> None:
    arch = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
    arch.close()
    arch = Archive.open(tmp_path / "archive", PASSPHRASE)
    limits: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            limits.append(_pragma(arch, "soft_heap_limit"))
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        arch.close()
    assert errors == []
    assert limits == [HEAP_LIMIT] * 8


def test_the_locked_memory_limit_is_raised_to_what_the_system_allows(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    lowered = 64 * 1024 if hard == resource.RLIM_INFINITY else min(64 * 1024, hard // 2)
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (lowered, hard))
    try:
        arch = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
        arch.close()
        assert resource.getrlimit(resource.RLIMIT_MEMLOCK) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (soft, hard))
