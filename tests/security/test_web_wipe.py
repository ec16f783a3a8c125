"""Red team, issue 12: a wiped archive stops being served.

A documenter is coerced (or the office raided) while ``sillok serve`` runs: someone runs
``sillok wipe`` on the folder. The attacker then uses what the running server still holds: the
documenter's open browser session, an API token, or the public site. Before issue 12, the
server kept the archive open with its keys in memory and its database's file descriptors on
the deleted file; the store refused new connections, so pages answered 503, but the keys and
sessions stayed until a restart. Now the next request ends every session, closes the database
(no descriptor on the archive's files is left open), drops the server's archive and answers
410 Gone with a page that says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sillok.custody.wipe import wipe
from sillok.errors import ArchiveError
from tests.test_web_app import build_site, login, password


def open_files_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open (deleted ones included)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def test_a_wipe_while_serving_ends_sessions_closes_the_database_and_answers_410(
    tmp_path: Path,
) -> None:
    site = build_site(tmp_path / "archive")
    web = site.app.state.web
    try:
        documenter = login(site.app, "documenter")
        assert documenter.get("/dashboard").status_code == 200
        token = TestClient(site.app).post(
            "/api/tokens",
            json={"username": "documenter", "passphrase": password("documenter")},
        ).json()["token"]
        api = TestClient(site.app, raise_server_exceptions=False)
        api.headers["authorization"] = f"Bearer {token}"
        assert api.get(f"/api/records/act/{site.ids['act_internal']}").status_code == 200
        visitor = TestClient(site.app, raise_server_exceptions=False)
        assert visitor.get("/news").status_code == 200
        assert open_files_under(site.folder), "the server holds the database open"

        wipe(site.folder)

        page = documenter.get("/dashboard")
        assert page.status_code == 410
        assert "wiped" in page.text or "삭제" in page.text
        assert "Kim Yo-jong" not in page.text and "documenter" not in page.text
        gone = api.get(f"/api/records/act/{site.ids['act_internal']}")
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "wiped"
        english = visitor.get("/news", headers={"accept-language": "en"})
        assert english.status_code == 410 and "It is no longer served" in english.text
        assert visitor.post("/login", data={"username": "documenter"}).status_code == 410
        # what the server let go of
        assert len(web.sessions) == 0 and len(web.logins) == 0
        with pytest.raises(ArchiveError, match="wiped"):
            _ = web.archive
        assert open_files_under(site.folder) == []
    finally:
        web.close()


def test_the_public_site_of_a_wiped_archive_answers_410_not_500(tmp_path: Path) -> None:
    """Nobody logged in; the first request after the wipe is the public news list."""
    site = build_site(tmp_path / "archive")
    try:
        visitor = TestClient(site.app, raise_server_exceptions=False)
        assert visitor.get("/news").status_code == 200
        wipe(site.folder)
        for url in ("/news", "/", "/login", "/api/statements", "/search?q=Yodok"):
            assert visitor.get(url).status_code == 410, url
        assert visitor.get("/static/site.css").status_code == 200  # no archive needed
    finally:
        site.app.state.web.close()
