"""Issue 12, findings 6 and 11 (sessions and handles): sessions and tokens end when their
user's key copy changes while the server runs (removed, given another role, a new passphrase,
the keys rotated), from the command line as from the web; after a rotation they end cleanly
(401, or a redirect to the login page, never 500) and the public pages keep working; the
archives opened for logins are one per user, bounded, and released when sessions end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sillok.cli import app as cli
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.test_web_app import Site, build_site, csrf_of, login, password

runner = CliRunner()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A site of its own: each test changes the users or the keys under the running server."""
    built = build_site(tmp_path / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def _sillok(*args: str, new_passphrase: str = "") -> None:
    """Run a command as the archive's first administrator, as another process would."""
    env = {"SILLOK_PASSPHRASE": PASSPHRASE, "SILLOK_NEW_PASSPHRASE": new_passphrase}
    result = runner.invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output


def _token(site: Site, role: str, passphrase: str | None = None) -> dict[str, str]:
    answer = TestClient(site.app).post(
        "/api/tokens", json={"username": role, "passphrase": passphrase or password(role)}
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _api(site: Site) -> TestClient:
    return TestClient(site.app, raise_server_exceptions=False)


def _logged_out(browser: TestClient) -> bool:
    answer = browser.get("/dashboard", follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_user_removed_on_the_command_line_is_logged_out_at_once(site: Site) -> None:
    act = f"/api/records/act/{site.ids['act_internal']}?reveal=true"
    token = _token(site, "documenter")
    browser = login(site.app, "documenter")
    bystander = _token(site, "analyst")
    assert _api(site).get(act, headers=token).status_code == 200
    _sillok("user", "remove", str(site.folder), "documenter")
    answer = _api(site).get(act, headers=token)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert "Witness" not in answer.text and "Kim" not in answer.text
    assert _logged_out(browser)
    # another user's session is not touched by it
    assert _api(site).get("/api/me", headers=bystander).status_code == 200


def test_a_role_changed_on_the_command_line_ends_the_old_sessions(site: Site) -> None:
    token = _token(site, "viewer")
    browser = login(site.app, "viewer")
    new = "the viewer's new passphrase"
    _sillok("user", "remove", str(site.folder), "viewer")
    _sillok("user", "add", str(site.folder), "viewer", "--role", "admin", new_passphrase=new)
    assert _api(site).get("/api/me", headers=token).status_code == 401
    assert _logged_out(browser)
    assert _api(site).get("/api/me", headers=_token(site, "viewer", new)).json()["role"] == "admin"


def test_a_passphrase_changed_on_the_command_line_ends_the_sessions(site: Site) -> None:
    token = _token(site, "reviewer")
    bystander = _token(site, "analyst")
    _sillok("user", "passwd", str(site.folder), "reviewer", new_passphrase="another passphrase")
    assert _api(site).get("/api/me", headers=token).status_code == 401
    assert _api(site).get("/api/me", headers=bystander).status_code == 200


def test_after_a_rotation_sessions_end_cleanly_and_public_pages_work(site: Site) -> None:
    record = f"/api/records/act/{site.ids['act_internal']}"
    tokens = [_token(site, role) for role in ("admin", "documenter", "viewer")]
    browser = login(site.app, "coordinator")
    visitor = login(site.app, None)
    assert visitor.get("/news").status_code == 200
    _sillok("keys", "rotate", str(site.folder))
    for token in tokens:
        answer = _api(site).get(record, headers=token)
        assert answer.status_code == 401, answer.text
    assert _logged_out(browser)
    for url in ("/", "/news", f"/news/{site.ids['joint']}", "/api/statements"):
        assert visitor.get(url).status_code == 200, url
    # a fresh login works on the rotated archive
    fresh = _api(site).get(record, headers=_token(site, "documenter"))
    assert fresh.status_code == 200
    assert login(site.app, "coordinator").get("/dashboard").status_code == 200


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_logins_of_one_user_share_one_archive_closed_with_the_last_session(site: Site) -> None:
    before = _open_descriptors()
    browsers = [login(site.app, "viewer")]
    one_archive = _open_descriptors() - before  # what the first login opened
    browsers += [login(site.app, "viewer") for _ in range(11)]
    tokens = [_token(site, "viewer") for _ in range(12)]
    # 23 more logins of the same user open nothing more (they were ~2 files each)
    assert _open_descriptors() - before <= one_archive + 2
    for browser in browsers:
        assert browser.get("/dashboard").status_code == 200
    for browser in browsers:
        browser.post("/logout", data={"csrf_token": csrf_of(browser)})
    for token in tokens:
        assert _api(site).delete("/api/tokens/current", headers=token).status_code == 204
    assert _api(site).get("/api/me", headers=tokens[0]).status_code == 401
    # the last session gone, the user's archive is closed
    assert _open_descriptors() - before <= 2


def test_open_archives_are_bounded_and_freed_by_expiry(site: Site) -> None:
    bounded = create_app(
        site.folder,
        WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=site.clock, max_open_archives=2),
    )
    client = TestClient(bounded, raise_server_exceptions=False)

    def token_of(user: str) -> int:
        form = {"username": user, "passphrase": password(user)}
        answer = client.post("/api/tokens", json=form)
        if answer.status_code != 201:
            assert answer.json()["error"]["code"] == "busy"
        return answer.status_code

    try:
        assert [token_of(u) for u in ("viewer", "analyst", "viewer")] == [201, 201, 201]
        assert token_of("reviewer") == 503  # a third user's archive would pass the bound
        # sessions that expire give their archives back
        site.clock.advance(bounded.state.web.settings.token_idle_seconds + 1)
        assert token_of("reviewer") == 201
    finally:
        bounded.state.web.close()


def _descriptors_on(folder: Path) -> int:
    """How many of this process's descriptors are on the archive's files."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder))
        except OSError:
            continue
    return count


def test_forty_logins_of_forty_users_open_no_file_of_their_own(site: Site) -> None:
    """Finding 11: each login kept an archive of its own, with its own connections (about 3
    descriptors each: the database, its write-ahead log and shared memory), so many valid
    logins exhausted the server's descriptors. Now every login shares the server's pool."""
    web = site.app.state.web
    roles = ("viewer", "analyst", "reviewer", "coordinator", "documenter")
    users = [(f"qx{n:02d}", roles[n % len(roles)]) for n in range(40)]
    for name, role in users:
        web.archive.users.add(name, role, password(name))
    visitor = login(site.app, None)
    assert visitor.get("/news").status_code == 200  # the server notices the new key file
    before, before_here = _open_descriptors(), _descriptors_on(site.folder)
    clients = []
    for number, (name, _role) in enumerate(users):
        if number % 2:
            clients.append(_api(site))
            clients[-1].headers.update(_token(site, name, password(name)))
        else:
            browser = TestClient(site.app, raise_server_exceptions=False)
            form = {"username": name, "passphrase": password(name),
                    "csrf_token": csrf_of(browser, "/login")}
            assert browser.post("/login", data=form, follow_redirects=False).status_code == 303
            clients.append(browser)
    for client in clients:
        assert client.get("/api/search", params={"q": "Yodok"}).status_code == 200
    assert len(web.logins) == 40
    assert _descriptors_on(site.folder) - before_here <= 4, "logins opened the archive's files"
    assert _open_descriptors() - before <= 8
    # each login is still its own user, with its own role, for reading and writing
    confidential = f"/api/records/act/{site.ids['act_confidential']}"
    shown = {name: clients[n].get(confidential).json() for n, (name, _r) in enumerate(users)}
    assert "[redacted]" in str(shown["qx00"]) or shown["qx00"].get("error")  # a viewer
    def acts() -> set[int]:
        found = web.archive.searcher.search("", web.archive.searcher.act_filter(date_from="1900"))
        return {h.id for h in found}

    earlier = acts()
    csv = b"source_ref,act_type,act_date\nQX-1,torture,2004\n"
    written = clients[4].post("/api/imports?format=csv&commit=true", content=csv,
                              headers={"x-csrf-token": csrf_of(clients[4])})
    assert written.status_code == 201, written.text
    new = acts() - earlier
    assert {web.archive.records.show("act", i)["created_by"] for i in new} == {"qx04"}
    # removing one of them on the command line ends their session, not the others'
    _sillok("user", "remove", str(site.folder), "qx01")
    assert clients[1].get("/api/me").status_code == 401
    assert clients[3].get("/api/me").status_code == 200
