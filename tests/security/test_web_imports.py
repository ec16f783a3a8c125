"""Red team, issue 12 finding 10 through the web: the hostile files of tests/data/hostile,
uploaded by an authorised documenter through the import page and ``POST /api/imports``, are
refused with a 4xx naming the file, never a 500, and the archive is left exactly as it was.

Before issue 12 a truncated sheet or an undefined entity answered 500 on the web, a lone
surrogate passed the preview and crashed at commit, and the 2,000,000-row content bomb took the
preview 96 s and a gigabyte. The library's readers were fixed and tested
(``test_parsers_xlsx.py``, ``test_parsers_text.py``); these tests hold the web routes to the same.
They passed when written (the reader fixes already answer 422 through the web): a guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sillok.custody.backup import COUNTED
from sillok.ledger.entries import LOGGED_TABLES
from sillok.store.meta import row_counts
from tests.security.conftest import HOSTILE, make
from tests.test_web_app import Site, build_site, csrf_of, login, password

#: the hostile files (those ``make.READ_AS`` does not list as read cleanly), and the bomb
NAMES = sorted(set(make.FILES) - set(make.READ_AS)) + ["content-bomb.xlsx"]
FORMAT = {".csv": "csv", ".jsonl": "jsonl", ".xlsx": "xlsx"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(tmp_path_factory.mktemp("web") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The 650 KB workbook that declares 2,000,000 rows."""
    path = make.write_content_bomb(tmp_path_factory.mktemp("bomb") / "content-bomb.xlsx")
    return path.read_bytes()


def hostile(name: str, bomb: bytes) -> bytes:
    return bomb if name == "content-bomb.xlsx" else (HOSTILE / name).read_bytes()


def state(site: Site) -> dict[str, int]:
    """The rows of every logged table but the audit trail and users (which logins extend),
    and the size of the log."""
    archive = site.app.state.web.archive
    with archive.store.reading() as conn:
        counts = row_counts(conn, LOGGED_TABLES)
        size = archive.log.head(conn).size
    return {**{name: counts[name] for name in COUNTED}, "log entries without audit": size
            - counts["audit_events"] - counts["users"]}


@pytest.fixture(scope="module")
def token(site: Site) -> str:
    answer = TestClient(site.app).post(
        "/api/tokens", json={"username": "documenter", "passphrase": password("documenter")}
    )
    found: str = answer.json()["token"]
    return found


def refused_in_4xx(answer_status: int) -> bool:
    return 400 <= answer_status < 500


@pytest.mark.parametrize("name", NAMES)
def test_the_api_refuses_a_hostile_file_with_a_4xx_naming_it(
    site: Site, token: str, bomb: bytes, name: str
) -> None:
    """``POST /api/imports``, with and without ``commit``: a 4xx whose error names the
    file (the preview too: no hostile file reaches a report); nothing written."""
    before = state(site)
    api = TestClient(site.app, raise_server_exceptions=False)
    api.headers["authorization"] = f"Bearer {token}"
    fmt = FORMAT[Path(name).suffix]
    data = hostile(name, bomb)
    for query in ("&commit=true", ""):
        answer = api.post(f"/api/imports?format={fmt}&name={name}{query}", content=data)
        assert refused_in_4xx(answer.status_code), (answer.status_code, answer.text[:300])
        error = answer.json()["error"]
        assert error["code"] in ("invalid_input", "too_large")
        assert error["message"].startswith(name), error["message"]
    assert state(site) == before


@pytest.mark.parametrize("name", NAMES)
def test_the_import_page_refuses_a_hostile_file_with_a_4xx_naming_it(
    site: Site, bomb: bytes, name: str
) -> None:
    """The upload form: a 4xx page naming the file, no report; nothing written."""
    before = state(site)
    client = login(site.app, "documenter")
    answer = client.post(
        "/import",
        data={"csrf_token": csrf_of(client, "/import")},
        files={"file": (name, hostile(name, bomb), "application/octet-stream")},
    )
    assert refused_in_4xx(answer.status_code), (answer.status_code, answer.text[:300])
    assert name in answer.text and 'name="import_id"' not in answer.text
    assert state(site) == before
