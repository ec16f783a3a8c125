"""Shared fixtures: archives on both stores, small synthetic datasets.

``SILLOK_REQUIRE_ALL=1`` (set by .ci/run) turns every skip for a missing optional part into a
failure, so nothing skips in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sillok.archive import Archive
from sillok.settings import KdfParams, Settings

PG_ADMIN_URL = os.environ.get("SILLOK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_ALL = os.environ.get("SILLOK_REQUIRE_ALL") == "1"
PASSPHRASE = "correct horse battery staple"
# Cheap argon2id for tests: the parameters are stored per archive, so this only makes the
# test archives quick to open, not the code under test different.
FAST = Settings(kdf=KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1))

# Modules whose tests start Spark, Chromium, crash subprocesses, Schemathesis or a large import:
# marked ``slow`` so that ``make test-fast`` can leave them out (``make test`` runs them all).
SLOW_MODULES = frozenset(
    {
        "test_linkage_spark",
        "test_crash",
        "test_web_browser",
        "test_web_api",
        "test_import_speedpath",
    }
)


#: the modules that take longest (a run's junit durations, 2026-12-03: 40-140 s each), started
#: first so that ``-n 2 --dist loadfile`` does not end with one worker running a long module
#: while the other waits; the rest keep their order
LONGEST_FIRST = (
    "test_web_mobile", "test_web_day", "test_verify_parallel", "test_web_rights",
    "test_links_events", "test_links", "test_linkage_reviews", "test_crash",
    "test_linkage_spark", "test_search", "test_attachments", "test_web_workers",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests ``slow`` and ``postgresql`` by what they start, not by hand; the longest
    modules first."""
    rank = {module: n for n, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: order kept
    for item in items:
        module = item.path.stem
        if module in SLOW_MODULES or "browser" in item.name:
            item.add_marker(pytest.mark.slow)
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and "postgresql" in callspec.params.values()
        if "pg_url" in fixtures or on_postgresql:
            item.add_marker(pytest.mark.postgresql)


def need(reason: str) -> None:
    """Skip, or fail when every optional part is required."""
    if REQUIRE_ALL:
        pytest.fail(f"required part missing: {reason}")
    pytest.skip(reason)


def _pg_admin() -> Any:
    try:
        import psycopg
    except ImportError:
        need("psycopg is not installed")
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        need(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    admin = _pg_admin()
    name = f"sillok_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlcipher", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each data test runs once per store."""
    kind: str = request.param
    return kind


@pytest.fixture
def archive(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Archive]:
    """An empty archive on the store of ``store_kind``."""
    database = request.getfixturevalue("pg_url") if store_kind == "postgresql" else None
    arch = Archive.create(tmp_path / "archive", PASSPHRASE, database=database, settings=FAST)
    try:
        yield arch
    finally:
        arch.close()


@pytest.fixture
def sqlcipher_archive(tmp_path: Path) -> Iterator[Archive]:
    """An empty archive in an SQLCipher file."""
    arch = Archive.create(tmp_path / "archive", PASSPHRASE, settings=FAST)
    try:
        yield arch
    finally:
        arch.close()
