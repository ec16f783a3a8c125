"""The web application's frame: sessions, login, lockout, CSRF, headers, languages, errors.

Also the shared fixtures of the web tests (imported by the other test_web_* modules): one
archive per module with the YODOK testimonies and a user of every role, and the app on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sillok.archive import Archive
from sillok.security.policy import ROLES
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def password(role: str) -> str:
    """The test passphrase of the user of a role."""
    return f"{role} passphrase 1"


def add_users(archive: Archive) -> None:
    """A user named after each role (``admin``, ``viewer``...), each with its own passphrase."""
    for role in ROLES:
        archive.users.add(role, role, password(role))


@dataclass
class Site:
    """An app on a small archive, with what the tests need to know about its records."""

    app: FastAPI
    folder: Path
    clock: FakeClock
    ids: dict[str, int]


def build_site(folder: Path, database: str | None = None) -> Site:
    """An archive with the YODOK testimonies, a published and a draft statement, every role."""
    archive = Archive.create(folder, PASSPHRASE, database=database, settings=FAST)
    try:
        archive.ingest.run(write_csv(folder.parent / f"{folder.name}.csv", YODOK))
        ids = _ids(archive)
        statements = archive.statements
        old = statements.write("Old news", "Earlier text.", "en", "news", "2019-01-05")
        statements.publish(old.id)
        joint = statements.write(
            "Joint statement on Yodok",
            "First paragraph.\n\nSecond paragraph.",
            "en",
            date="2021-12-10",
        )
        statements.set_signatories(joint.id, ["Test Alliance for Rights", "시험인권모임"])
        statements.set_events(joint.id, [ids["event_public"], ids["event_internal"]])
        statements.publish(joint.id)
        draft = statements.write("Secret draft", "Not yet.", "en", date="2022-01-01")
        ids.update(old=old.id, joint=joint.id, draft=draft.id)
        add_users(archive)
    finally:
        archive.close()
    clock = FakeClock()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=clock))
    return Site(app, folder, clock, ids)


def _ids(archive: Archive) -> dict[str, int]:
    """Ids of the YODOK records by what they are."""
    acts = {}
    for hit in archive.searcher.search("", archive.searcher.act_filter(date_from="1900")):
        record = archive.records.show("act", hit.id)
        acts[record["sharing"]] = record
    return {
        "act_internal": acts["internal"]["id"],
        "act_confidential": acts["confidential"]["id"],
        "act_public": acts["public"]["id"],
        "victim": acts["internal"]["victim_id"],
        "victim_public": acts["public"]["victim_id"],
        "source": acts["internal"]["sources"][0],
        "event_internal": acts["internal"]["event_id"],
        "event_public": acts["public"]["event_id"],
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One site per test module (creating archives and argon2 logins is the slow part)."""
    built = build_site(tmp_path_factory.mktemp("web") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def login(app: FastAPI, role: str | None) -> TestClient:
    """A client logged in as the user of ``role`` (None: a visitor)."""
    client = TestClient(app, raise_server_exceptions=False)
    if role is not None:
        page = client.get("/login")
        token = CSRF.search(page.text)
        assert token, page.text
        answer = client.post(
            "/login",
            data={"username": role, "passphrase": password(role), "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: TestClient, url: str = "/search") -> str:
    """The CSRF token shown on a page of the client's session."""
    found = CSRF.search(client.get(url).text)
    assert found, url
    return found[1]


# --- tests ----------------------------------------------------------------------------------


def test_public_pages_need_no_login(site: Site) -> None:
    client = login(site.app, None)
    for url in ("/", "/news", f"/news/{site.ids['joint']}"):
        answer = client.get(url)
        assert answer.status_code == 200, url
    assert "Joint statement on Yodok" in client.get("/news?language=en").text


def test_protected_pages_send_a_visitor_to_login(site: Site) -> None:
    client = login(site.app, None)
    answer = client.get(f"/records/act/{site.ids['act_public']}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=/records/act/")
    api = client.get("/api/search?q=Yodok", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert api.status_code == 401
    assert api.json() == {"error": {"code": "unauthenticated", "message": "Please log in first."}}


def test_login_sets_a_strict_httponly_cookie_and_renews_the_session(site: Site) -> None:
    client = TestClient(site.app)
    client.get("/login")
    before = client.cookies.get("sillok_session")
    token = csrf_of(client, "/login")
    answer = client.post(
        "/login",
        data={"username": "viewer", "passphrase": password("viewer"), "csrf_token": token},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in the test; https or --secure-cookies add it
    after = client.cookies.get("sillok_session")
    assert before and after and before != after
    # the pre-login session is gone: its id no longer works
    stale = TestClient(site.app)
    stale.cookies.set("sillok_session", before)
    assert stale.get("/dashboard", follow_redirects=False).status_code == 303


def test_secure_cookie_over_https(site: Site) -> None:
    client = TestClient(site.app, base_url="https://testserver")
    answer = client.get("/login")
    assert "Secure" in answer.headers["set-cookie"]


def test_wrong_passphrase_and_lockout(site: Site) -> None:
    client = TestClient(site.app)
    token = csrf_of(client, "/login")
    for attempt in range(5):
        answer = client.post(
            "/login",
            data={"username": "analyst", "passphrase": f"wrong {attempt}", "csrf_token": token},
        )
        assert answer.status_code in (401, 429)
        assert "analyst passphrase" not in answer.text
    locked = client.post(
        "/login",
        data={"username": "analyst", "passphrase": password("analyst"), "csrf_token": token},
    )
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.text or "로그인" in locked.text
    site.clock.advance(16 * 60)
    unlocked = client.post(
        "/login",
        data={"username": "analyst", "passphrase": password("analyst"), "csrf_token": token},
        follow_redirects=False,
    )
    assert unlocked.status_code == 303


def test_unknown_user_is_refused_like_a_wrong_passphrase(site: Site) -> None:
    client = TestClient(site.app)
    token = csrf_of(client, "/login")
    nobody = client.post(
        "/login", data={"username": "nobody", "passphrase": "x", "csrf_token": token}
    )
    wrong = client.post(
        "/login", data={"username": "reviewer", "passphrase": "x", "csrf_token": token}
    )
    assert nobody.status_code == wrong.status_code == 401
    message = re.compile(r'<p class="error" role="alert" id="login-error">(.*?)</p>')
    assert message.search(nobody.text)[1] == message.search(wrong.text)[1]  # type: ignore[index]


def test_idle_session_expires(site: Site) -> None:
    client = login(site.app, "reviewer")
    assert client.get("/dashboard").status_code == 200
    site.clock.advance(29 * 60)
    assert client.get("/dashboard").status_code == 200  # used: the idle timer restarts
    site.clock.advance(31 * 60)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_logout_revokes_the_session(site: Site) -> None:
    client = login(site.app, "viewer")
    session = client.cookies.get("sillok_session")
    token = csrf_of(client)
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    replay = TestClient(site.app)
    replay.cookies.set("sillok_session", session)
    assert replay.get("/dashboard", follow_redirects=False).status_code == 303


def test_state_changes_without_csrf_token_are_refused(site: Site) -> None:
    client = login(site.app, "admin")
    statement = site.ids["draft"]
    posts = [
        ("/logout", {}),
        ("/login", {"username": "admin", "passphrase": password("admin")}),
        (f"/statements/{statement}/publish", {}),
        ("/statements/new", {"title": "t", "body": "b", "language": "en"}),
        ("/testimonies/new", {"act-0-0-act_type": "torture"}),
        ("/import/commit", {"import_id": "x"}),
    ]
    for url, data in posts:
        answer = client.post(url, data=data, follow_redirects=False)
        assert answer.status_code == 403, url
        wrong = client.post(url, data={**data, "csrf_token": "forged"}, follow_redirects=False)
        assert wrong.status_code == 403, url
    # with the session's cookie, the JSON API needs the header too
    assert client.post(f"/api/statements/{statement}/publish").status_code == 403
    token = csrf_of(client)
    answer = client.post(f"/api/statements/{statement}/withdraw", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200
    assert login(site.app, None).get(f"/news/{statement}").status_code == 404


def test_security_headers(site: Site) -> None:
    answer = TestClient(site.app).get("/")
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text and " style=" not in answer.text  # CSP-clean markup


def test_language_switch_on_every_page(site: Site) -> None:
    client = login(site.app, "admin")
    for url in ("/", "/news", "/dashboard", "/search", f"/records/act/{site.ids['act_public']}"):
        page = client.get(url).text
        assert f'href="/lang/en?next={url.split("?")[0]}' in page or 'href="/lang/en?next=' in page
        assert 'href="/lang/ko?next=' in page
    switched = client.get("/lang/en?next=/dashboard", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/dashboard"
    client.cookies.set("sillok_lang", "en")
    english = client.get("/dashboard").text
    client.cookies.set("sillok_lang", "ko")
    korean = client.get("/dashboard").text
    assert '<html lang="en">' in english and "Acts by type" in english
    assert '<html lang="ko">' in korean and "유형별 행위" in korean
    # never an open redirect
    away = client.get("/lang/en?next=//evil.example/", follow_redirects=False)
    assert away.headers["location"] == "/"


def test_errors_are_shaped_json_on_the_api(site: Site) -> None:
    client = login(site.app, "admin")
    missing = client.get("/api/records/act/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.get("/api/records/spaceship/1")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    page = client.get("/records/act/999999")
    assert page.status_code == 404 and "<h1>" in page.text


def test_korean_catalog_translates_every_message() -> None:
    from sillok.web.i18n import catalog, extract_messages, translator

    korean = catalog("ko")
    missing = [m for m in extract_messages() if not korean.get(m)]
    assert missing == []
    # placeholders survive translation
    assert translator("ko")("{n} matches", n=3) == "3건"
    assert translator("en")("{n} matches", n=3) == "3 matches"
    assert translator("en")("act_type") == "Act type"


def test_the_site_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    built = build_site(tmp_path / "archive", database=pg_url)
    try:
        client = login(built.app, "documenter")
        found = client.get("/api/search", params={"q": "요덕"}).json()
        assert built.ids["act_internal"] in {h["id"] for h in found["hits"]}
        page = client.get(f"/records/act/{built.ids['act_internal']}")
        assert page.status_code == 200 and "Kim Yo-jong" in page.text
        assert client.get("/dashboard").status_code == 200
        visitor = login(built.app, None)
        assert "Joint statement on Yodok" in visitor.get("/news?language=en").text
        assert visitor.get(f"/news/{built.ids['draft']}").status_code == 404
    finally:
        built.app.state.web.close()


def test_the_language_switch_keeps_the_whole_address(site: Site) -> None:
    client = login(site.app, "admin")
    page = client.get("/search?q=Yodok&province=KP-08").text
    link = re.search(r'href="(/lang/en\?next=[^"]+)"', page)
    assert link
    answer = client.get(link[1].replace("&amp;", "&"), follow_redirects=False)
    assert answer.headers["location"] == "/search?q=Yodok&province=KP-08"


def test_field_names_are_words_not_identifiers(site: Site) -> None:
    client = login(site.app, "viewer")
    client.cookies.set("sillok_lang", "en")
    for kind in ("act_confidential", "act_public", "source", "victim", "event_internal"):
        path = {"act_confidential": "act", "act_public": "act", "victim": "person"}.get(
            kind, kind.split("_")[0]
        )
        page = client.get(f"/records/{path}/{site.ids[kind]}").text
        labels = re.findall(r"<dt>([^<]*)</dt>", page) + re.findall(
            r'<p class="refused"[^>]*>.*?</p>', page, re.S
        )
        assert labels, kind
        for label in labels:
            assert not re.search(r"<code>\w*_\w*</code>|^\w+_\w+$", label), (kind, label)
