"""Issue 12, finding 7: the second factor done right. A refused code is a ``login_failed`` in
the audit trail, never a ``login``; turning the factor off needs the passphrase and a current
code, counts failures, and is audited; a new secret does not replace a live one."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.test_web_app import Site, build_site, csrf_of, login, password

SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own (its users turn the second factor on)."""
    built = build_site(tmp_path_factory.mktemp("totp") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def _turn_on(site: Site, role: str) -> tuple[TestClient, pyotp.TOTP]:
    """A session of the user, whose second factor is on (enrolled with the previous code, so
    the current one is still unused)."""
    client = login(site.app, role)
    token = csrf_of(client, "/account")
    found = SECRET.search(client.post("/account/totp/start", data={"csrf_token": token}).text)
    assert found
    totp = pyotp.TOTP(found[1])
    code = totp.at(time.time() - 30)
    on = client.post("/account/totp/confirm", data={"csrf_token": token, "code": code})
    assert on.status_code == 200 and site.app.state.web.totp.enrolled(role)
    return client, totp


def _events(site: Site, action: str, user: str) -> list[dict[str, object]]:
    audit = site.app.state.web.archive.audit
    return [e for e in audit.events(action=action, limit=1000) if e["actor"] == user]


def test_a_refused_code_is_a_failed_login_and_never_a_login(site: Site) -> None:
    _turn_on(site, "reviewer")
    logins = len(_events(site, "login", "reviewer"))
    failed = len(_events(site, "login_failed", "reviewer"))
    visitor = TestClient(site.app)
    form = {"username": "reviewer", "passphrase": password("reviewer")}
    token = csrf_of(visitor, "/login")
    page = visitor.post("/login", data={**form, "code": "000000", "csrf_token": token})
    assert page.status_code == 401
    api = TestClient(site.app).post("/api/tokens", json=form)  # no code at all
    assert api.status_code == 401
    assert len(_events(site, "login", "reviewer")) == logins
    refused = _events(site, "login_failed", "reviewer")
    assert len(refused) == failed + 2
    assert all(e["detail"] == {"user": "reviewer", "second_factor": True} for e in refused[:2])


def test_turning_it_off_needs_the_passphrase_and_a_code_and_is_audited(site: Site) -> None:
    client, totp = _turn_on(site, "analyst")
    token = csrf_of(client, "/account")
    wrong = [
        {},
        {"passphrase": password("analyst")},
        {"passphrase": password("analyst"), "code": "000000"},
        {"passphrase": "not the passphrase", "code": totp.now()},
    ]
    for fields in wrong:
        answer = client.post("/account/totp/remove", data={"csrf_token": token, **fields})
        assert answer.status_code == 422, fields
        assert site.app.state.web.totp.enrolled("analyst"), fields
    assert len(_events(site, "login_failed", "analyst")) >= len(wrong)
    # a new secret does not replace the live one
    again = client.post("/account/totp/start", data={"csrf_token": token})
    assert again.status_code == 422 and not SECRET.search(again.text)
    off = client.post(
        "/account/totp/remove",
        data={"csrf_token": token, "passphrase": password("analyst"), "code": totp.now()},
    )
    assert off.status_code == 200
    assert not site.app.state.web.totp.enrolled("analyst")
    changes = [e["detail"] for e in _events(site, "user_passwd", "analyst")]
    assert {"user": "analyst", "second_factor": "off"} in changes
    assert {"user": "analyst", "second_factor": "on"} in changes
    assert login(site.app, "analyst").get("/dashboard").status_code == 200  # no code needed


def test_failures_to_turn_it_off_lock_like_logins(site: Site) -> None:
    client, totp = _turn_on(site, "coordinator")
    token = csrf_of(client, "/account")
    for attempt in range(site.app.state.web.settings.max_failed_logins):
        client.post(
            "/account/totp/remove",
            data={"csrf_token": token, "passphrase": f"guess {attempt}", "code": totp.now()},
        )
    locked = client.post(
        "/account/totp/remove",
        data={"csrf_token": token, "passphrase": password("coordinator"), "code": totp.now()},
    )
    assert locked.status_code == 429
    assert site.app.state.web.totp.enrolled("coordinator")
