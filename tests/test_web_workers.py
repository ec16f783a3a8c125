"""Several worker processes serve one archive: sessions, tokens, CSRF tokens, pending steps and
the login lockout live in the archive's database, so any worker serves any user's next request,
and an ending in one is an ending in all.

Two applications built on one archive folder stand for two workers (each opens the archive
itself, as a worker process does); the last test starts ``sillok serve --workers 2``.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from sillok.cli import app as cli
from sillok.model import web_sessions
from sillok.security.sessions import csrf_token_of, open_for, session_digest
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.test_web_app import CSRF, FakeClock, build_site, csrf_of, login, password

COOKIE = "sillok_session"


@dataclass
class Workers:
    """Two applications on one archive, on one clock."""

    apps: tuple[FastAPI, FastAPI]
    folder: Path
    clock: FakeClock
    ids: dict[str, int]

    def client(self, which: int, cookie: str | None = None) -> TestClient:
        """A browser talking to one worker (with a session cookie, if given)."""
        client = TestClient(self.apps[which], raise_server_exceptions=False)
        if cookie is not None:
            client.cookies.set(COOKIE, cookie)
        return client

    def rows(self) -> list[dict[str, object]]:
        """The session table as the database holds it."""
        with self.apps[0].state.web.archive.vault.store.reading() as conn:
            return [dict(r._mapping) for r in conn.execute(select(web_sessions))]


def _workers(folder: Path, database: str | None = None) -> Iterator[Workers]:
    site = build_site(folder, database=database)
    second = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=site.clock))
    try:
        yield Workers((site.app, second), folder, site.clock, site.ids)
    finally:
        second.state.web.close()
        site.app.state.web.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Two workers on an SQLCipher archive."""
    yield from _workers(tmp_path / "archive")


@pytest.fixture
def both_workers(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Workers]:
    """Two workers on an archive of each store."""
    database = request.getfixturevalue("pg_url") if store_kind == "postgresql" else None
    yield from _workers(tmp_path / "archive", database)


def _logged_out(client: TestClient) -> bool:
    answer = client.get("/dashboard", follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_session_from_one_worker_is_served_by_the_other(both_workers: Workers) -> None:
    w = both_workers
    first = login(w.apps[0], "admin")
    cookie = first.cookies.get(COOKIE)
    assert cookie
    second = w.client(1, cookie)
    # the other worker opens the user's archive from the sealed keys: sealed fields open
    record = f"/api/records/act/{w.ids['act_internal']}?reveal=true"
    answer = second.get(record)
    assert answer.status_code == 200, answer.text
    assert answer.json() == first.get(record).json()
    assert second.get("/api/me").json() == {"username": "admin", "role": "admin"}
    assert second.get("/dashboard").status_code == 200
    # the CSRF token one worker put in a page is the other worker's too
    token = csrf_of(first)
    assert token == csrf_of(second) == csrf_token_of(cookie)
    # logging out on the second ends the session on the first
    out = second.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert _logged_out(w.client(0, cookie))
    assert w.rows() == []


def test_an_api_token_from_one_worker_works_on_the_other_until_revoked(
    both_workers: Workers,
) -> None:
    w = both_workers
    answer = w.client(0).post(
        "/api/tokens", json={"username": "analyst", "passphrase": password("analyst")}
    )
    assert answer.status_code == 201
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert w.client(1).get("/api/me", headers=headers).json()["role"] == "analyst"
    assert w.client(1).delete("/api/tokens/current", headers=headers).status_code == 204
    assert w.client(0).get("/api/me", headers=headers).status_code == 401


def test_a_form_with_a_token_of_another_session_is_refused_on_every_worker(
    workers: Workers,
) -> None:
    a = login(workers.apps[0], "viewer")
    b = login(workers.apps[1], "viewer")
    foreign = csrf_of(a)
    answer = workers.client(1, b.cookies.get(COOKIE)).post(
        "/logout", data={"csrf_token": foreign}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert not _logged_out(b)


def test_removing_a_user_ends_their_sessions_in_both_workers(workers: Workers) -> None:
    w = workers
    cookies = [login(w.apps[n], "documenter").cookies.get(COOKIE) for n in (0, 1)]
    bystander = login(w.apps[1], "analyst")
    # each worker has served each session once (and holds its archive)
    for cookie in cookies:
        for n in (0, 1):
            assert w.client(n, cookie).get("/api/me").status_code == 200
    # removed on the web through the first worker
    admin = login(w.apps[0], "admin")
    done = admin.post(
        "/users/documenter/remove",
        data={"csrf_token": csrf_of(admin, "/users"), "confirmed": "yes"},
    )
    assert done.status_code == 200, done.text
    for cookie in cookies:
        for n in (0, 1):
            assert _logged_out(w.client(n, cookie))
    assert not _logged_out(w.client(1, bystander.cookies.get(COOKIE)))
    # and the second worker let go of the user's archive
    held = {s.username for s in w.apps[1].state.web.sessions._local.values()}
    assert "documenter" not in held


def test_a_removal_on_the_command_line_ends_the_sessions_in_both_workers(
    workers: Workers,
) -> None:
    w = workers
    cookie = login(w.apps[0], "reviewer").cookies.get(COOKIE)
    assert w.client(1, cookie).get("/api/me").status_code == 200
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    result = CliRunner().invoke(cli, ["user", "remove", str(w.folder), "reviewer"], env=env)
    assert result.exit_code == 0, result.output
    assert _logged_out(w.client(1, cookie))
    assert _logged_out(w.client(0, cookie))


def _key_material(keys: object) -> list[bytes]:
    found = [keys.database, *keys.purposes.values()]  # type: ignore[attr-defined]
    found += [k for k in (keys.own, keys.author) if k]  # type: ignore[attr-defined]
    return found


def test_the_database_row_alone_opens_nothing(both_workers: Workers) -> None:
    w = both_workers
    client = login(w.apps[0], "admin")
    cookie = client.cookies.get(COOKIE)
    session = w.apps[0].state.web.sessions.get(cookie)
    secrets = _key_material(session.archive.vault.keys)
    assert len(secrets) >= 5
    [row] = w.rows()
    sealed = row["sealed_keys"]
    assert isinstance(sealed, bytes)
    dump = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    for secret in secrets:
        for form in (secret, secret.hex().encode(), base64.b64encode(secret)):
            assert form not in dump, "a key in clear in the session table"
    assert cookie.encode() not in dump
    assert row["digest"] == session_digest(cookie)
    # what the row holds is sealed to the cookie: another id does not open it
    assert open_for(cookie, "keys", sealed) is not None
    assert open_for(str(row["digest"]), "keys", sealed) is None
    assert open_for(cookie + "x", "keys", sealed) is None
    # a cookie made of what the table holds is nobody's session, on either worker
    for n in (0, 1):
        assert _logged_out(w.client(n, row["digest"]))
    # a row copied under a digest the attacker knows the id of opens no keys either
    with w.apps[0].state.web.archive.vault.store.transaction() as conn:
        forged = {**row, "digest": session_digest("forged id")}
        forged.pop("id")
        conn.execute(web_sessions.insert(), forged)
    assert _logged_out(w.client(1, "forged id"))
    assert session_digest("forged id") not in {r["digest"] for r in w.rows()}


def test_expired_sessions_end_everywhere_and_their_rows_go(workers: Workers) -> None:
    w = workers
    cookie = login(w.apps[0], "viewer").cookies.get(COOKIE)
    w.clock.advance(10 * 60)
    assert not _logged_out(w.client(1, cookie))  # used on the other worker: renewed
    w.clock.advance(25 * 60)
    assert not _logged_out(w.client(0, cookie))  # the renewal counted on the first
    w.clock.advance(31 * 60)
    assert _logged_out(w.client(1, cookie))
    assert _logged_out(w.client(0, cookie))
    with w.apps[0].state.web.archive.vault.store.reading() as conn:
        left = conn.execute(
            select(func.count()).where(web_sessions.c.username == "viewer")
        ).scalar()
    assert left == 0


def test_a_pending_step_written_by_one_worker_is_read_by_the_other(workers: Workers) -> None:
    w = workers
    cookie = login(w.apps[0], "documenter").cookies.get(COOKIE)
    first = w.apps[0].state.web.sessions.get(cookie)
    second = w.apps[1].state.web.sessions.get(cookie)
    first.pending["import"] = {"rows": [[1, {"act_type": "torture"}]]}
    again = w.apps[1].state.web.sessions.get(cookie)
    assert again is second and second.pending["import"]["rows"][0][1]["act_type"] == "torture"
    assert b"torture" not in b"".join(
        v for v in w.rows()[0].values() if isinstance(v, bytes)
    )
    second.pending.pop("import")
    assert "import" not in w.apps[0].state.web.sessions.get(cookie).pending


def test_the_lockout_counts_failures_on_every_worker(workers: Workers) -> None:
    w = workers
    for attempt in range(5):
        client = w.client(attempt % 2)
        token = csrf_of(client, "/login")
        client.post(
            "/login",
            data={"username": "coordinator", "passphrase": f"wrong {attempt}", "csrf_token": token},
        )
    for n in (0, 1):
        client = w.client(n)
        locked = client.post(
            "/login",
            data={
                "username": "coordinator",
                "passphrase": password("coordinator"),
                "csrf_token": csrf_of(client, "/login"),
            },
        )
        assert locked.status_code == 429


SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def test_a_second_factor_started_on_one_worker_is_confirmed_on_the_other_and_used_once(
    workers: Workers,
) -> None:
    w = workers
    first = login(w.apps[0], "analyst")
    cookie = first.cookies.get(COOKIE)
    token = csrf_of(first, "/account")
    # the secret waits in the session's pending step, sealed in its row
    found = SECRET.search(first.post("/account/totp/start", data={"csrf_token": token}).text)
    assert found
    totp = pyotp.TOTP(found[1])
    second = w.client(1, cookie)
    confirmed = second.post(
        "/account/totp/confirm", data={"csrf_token": token, "code": totp.at(time.time() - 30)}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert w.apps[0].state.web.totp.enrolled("analyst")
    # a code logs in once: replayed on the other worker it is refused
    code = totp.now()
    form = {"username": "analyst", "passphrase": password("analyst"), "code": code}
    assert w.client(0).post("/api/tokens", json=form).status_code == 201
    assert w.client(1).post("/api/tokens", json=form).status_code == 401


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_with_two_workers_logs_in_and_out(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    build_site(folder).app.state.web.close()
    port = _free_port()
    env = {**os.environ, "SILLOK_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(
        [sys.executable, "-c", "from sillok.cli import main; main()", "serve", str(folder),
         "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line, line
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=240) as client:
            page = client.get("/login")
            token = CSRF.search(page.text)
            assert page.status_code == 200 and token, page.text
            done = client.post(
                "/login",
                data={"username": "viewer", "passphrase": password("viewer"),
                      "csrf_token": token[1]},
            )
            assert done.status_code == 303, done.text
            # many requests: both workers serve the one session
            for _ in range(20):
                assert client.get("/api/me").json()["username"] == "viewer"
            token = CSRF.search(client.get("/search").text)
            assert token
            out = client.post("/logout", data={"csrf_token": token[1]})
            assert out.status_code == 303
            for _ in range(6):
                assert client.get("/api/me").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=30)
    # the children went with the supervisor: nothing listens any more
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
