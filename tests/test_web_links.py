"""Reviewing record linkage on the web: the queue page and its API, decisions as versions in the
Merkle log, who may decide, bad input, and the page in a real browser.

One linked archive per store for the module: a few dozen victims reported twice or three times
with other spellings, linked once (the slow part, a few seconds).
"""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sillok.archive import Archive
from sillok.linkage.archive import LINK_KINDS
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE, PG_ADMIN_URL, _pg_admin
from tests.datasets import YODOK, write_csv
from tests.test_links import duplicated_victims
from tests.test_web_app import FakeClock, Site, add_users, csrf_of, login, password

ARTICLE = re.compile(r'<article class="pair" id="link-(\d+)"')


def build_linked_site(folder: Path, database: str | None = None) -> Site:
    """The YODOK testimonies and the duplicated victims, linked; a user of every role."""
    archive = Archive.create(folder, PASSPHRASE, database=database, settings=FAST)
    try:
        rows = YODOK + duplicated_victims(15)
        archive.ingest.run(write_csv(folder.parent / f"{folder.name}.csv", rows))
        assert archive.links.find("persons").new >= 10
        add_users(archive)
    finally:
        archive.close()
    clock = FakeClock()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=clock))
    return Site(app, folder, clock, {})


@pytest.fixture(scope="module", params=["sqlcipher", "postgresql"])
def linked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Site]:
    """A linked site on each store (PostgreSQL: a database of its own for the module)."""
    admin, database = None, None
    if request.param == "postgresql":
        admin = _pg_admin()
        name = f"sillok_test_{uuid.uuid4().hex[:12]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        database = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        built = build_linked_site(tmp_path_factory.mktemp("links") / "archive", database)
        try:
            yield built
        finally:
            built.app.state.web.close()
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()


def _server_archive(site: Site) -> Archive:
    archive: Archive = site.app.state.web.archive
    return archive


def _pending(client: TestClient, limit: int = 100) -> list[dict[str, Any]]:
    answer = client.get("/api/links", params={"status": "pending", "limit": limit})
    assert answer.status_code == 200, answer.text
    links: list[dict[str, Any]] = answer.json()["links"]
    return links


def _decide(client: TestClient, link_id: int, verdict: str, **extra: str) -> Any:
    token = csrf_of(client, "/links")
    data = {"verdict": verdict, "csrf_token": token, **extra}
    return client.post(f"/links/{link_id}", data=data, follow_redirects=False)


def test_the_queue_most_probable_first_with_evidence(linked: Site) -> None:
    client = login(linked.app, "reviewer")
    client.cookies.set("sillok_lang", "en")
    links = _pending(client)
    assert len(links) >= 10
    probabilities = [link["probability"] for link in links]
    assert probabilities == sorted(probabilities, reverse=True)
    top = links[0]
    assert top["status"] == "pending" and top["record_kind"] == "person"
    assert {e["field"] for e in top["evidence"]} >= {"name", "birth"}
    assert all(isinstance(e["weight"], float) for e in top["evidence"])

    page = client.get("/links")
    assert page.status_code == 200
    html = page.text
    assert 'href="/links" aria-current="page"' in html  # the navigation entry
    assert [int(i) for i in ARTICLE.findall(html)] == [link["id"] for link in links[:20]]
    first = html[html.index(f'id="link-{top["id"]}"'):]
    first = first[: first.index("</article>")]
    assert f'href="/records/person/{top["left_id"]}"' in first
    assert f'href="/records/person/{top["right_id"]}"' in first
    assert top["left"] in first and top["right"] in first
    strongest = top["evidence"][0]
    assert f'<td class="weight">{strongest["weight"]:+.1f}</td>' in first
    assert 'tr class="for"' in first and "Match probability" in first
    assert 'value="accept"' in first and 'value="reject"' in first and "Skip" in first
    # a kind selector built from the library's kinds, and the three tabs
    for kind in LINK_KINDS:
        assert f"kind={kind}&amp;status=pending" in html
        assert client.get("/links", params={"kind": kind}).status_code == 200
    for status in ("pending", "accepted", "rejected"):
        assert f"status={status}&amp;page=1" in html
    # pages: the second starts where the first ended
    second = client.get("/api/links", params={"offset": 5, "limit": 5}).json()
    assert [link["id"] for link in second["links"]] == [link["id"] for link in links[5:10]]
    assert second["more"] is True
    # Korean labels
    client.cookies.set("sillok_lang", "ko")
    korean = client.get("/links").text
    assert "연결 검토" in korean and "수락" in korean and "일치 확률" in korean
    assert "같은 해" in korean or "같은 표기" in korean  # evidence levels translated too


def test_accept_reject_undo_are_versions_in_the_log(linked: Site) -> None:
    archive = _server_archive(linked)
    before = archive.verification.run()
    assert before.ok
    client = login(linked.app, "reviewer")
    first, second, third = _pending(client)[:3]

    answer = _decide(client, first["id"], "accept", then=str(second["id"]))
    assert answer.status_code == 303
    back = f"/links?kind=persons&status=pending&page=1#link-{second['id']}"
    assert answer.headers["location"] == back
    pending = client.get("/links").text
    accepted = client.get("/links?status=accepted").text
    assert f'id="link-{first["id"]}"' not in pending
    assert f'id="link-{first["id"]}"' in accepted and 'value="undo"' in accepted

    rejected = client.post(f"/api/links/{second['id']}", json={"verdict": "reject"},
                           headers={"X-CSRF-Token": csrf_of(client, "/links")})
    assert rejected.status_code == 200
    assert rejected.json() == {"id": second["id"], "status": "rejected"}
    listed = client.get("/api/links", params={"status": "rejected"}).json()["links"]
    assert second["id"] in [link["id"] for link in listed]

    assert _decide(client, first["id"], "undo", status="accepted").status_code == 303
    assert f'id="link-{first["id"]}"' in client.get("/links").text

    history = archive.records.history("link", first["id"])
    assert [v["status"] for v in history] == ["pending", "accepted", "pending"]
    assert history[-1]["updated_by"] == "reviewer"
    assert [v["status"] for v in archive.records.history("link", second["id"])] == [
        "pending", "rejected"]
    # the persons themselves are untouched
    assert archive.records.history("person", first["left_id"])[-1]["version"] == 1
    after = archive.verification.run()
    assert after.ok and after.size >= before.size + 3  # three new versions in the log
    assert third["id"] in [link["id"] for link in _pending(client)]  # undecided stays queued


def test_only_the_review_role_decides(linked: Site) -> None:
    link = _pending(login(linked.app, "reviewer"))[-1]
    for role in ("viewer", "analyst", "coordinator"):
        client = login(linked.app, role)
        page = client.get("/links")
        assert page.status_code == 200  # every role that reads persons sees the queue
        assert 'value="accept"' not in page.text and 'href="/links"' not in page.text
        refused = _decide(client, link["id"], "accept")
        assert refused.status_code == 403 and "<h1>" in refused.text
        api = client.post(f"/api/links/{link['id']}", json={"verdict": "accept"},
                          headers={"X-CSRF-Token": csrf_of(client, "/links")})
        assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    assert link["id"] in [item["id"] for item in _pending(login(linked.app, "admin"))]
    for role in ("admin", "documenter"):
        assert 'href="/links"' in login(linked.app, role).get("/dashboard").text
    # a visitor is sent to log in; the API wants a token
    visitor = login(linked.app, None)
    assert visitor.get("/links", follow_redirects=False).status_code == 303
    assert visitor.get("/api/links").status_code == 401


def test_the_viewer_sees_neither_names_nor_details_in_the_evidence(linked: Site) -> None:
    shown = {link["id"]: link for link in _pending(login(linked.app, "reviewer"))}
    viewer = _pending(login(linked.app, "viewer"))
    assert {link["id"] for link in viewer} == set(shown)
    for link in viewer:
        assert link["left"] != shown[link["id"]]["left"]  # a pseudonym, not the name
        assert re.fullmatch(r"[a-z_]+-[0-9a-f]{8}", link["left"])
        for item in link["evidence"]:
            if item["field"] in ("name", "birth", "sex", "origin"):
                assert item["level"] == "[redacted]" and item["weight"] is None
    page = login(linked.app, "viewer").get("/links").text
    some = next(iter(shown.values()))
    assert some["left"] not in page


def test_bad_input_is_a_clear_4xx(linked: Site) -> None:
    client = login(linked.app, "reviewer")
    link = _pending(client)[-1]["id"]
    missing = _decide(client, 999_999, "accept")
    assert missing.status_code == 404 and "999999" in missing.text  # in the page's language
    for bad in (_decide(client, link, "merge"), _decide(client, link, "accept", status="gone")):
        assert bad.status_code == 422 and "<h1>" in bad.text and "Traceback" not in bad.text
    assert _decide(client, 0, "accept").status_code == 422
    forged = client.post(f"/links/{link}", data={"verdict": "accept", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.post(f"/links/{link}", data={"verdict": "accept"}).status_code == 403
    header = {"X-CSRF-Token": csrf_of(client, "/links")}
    api = client.post(f"/api/links/{link}", json={"verdict": "merge"}, headers=header)
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_input"
    api = client.post("/api/links/999999", json={"verdict": "accept"}, headers=header)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.post(f"/api/links/{link}", json={"verdict": "accept"}).status_code == 403
    assert client.get("/links?status=merged").status_code == 422
    assert client.get("/api/links?kind=spaceships").json()["error"]["code"] == "invalid_input"
    # nothing was decided by any of these
    assert link in [item["id"] for item in _pending(client)]


# --- in a browser ---------------------------------------------------------------------------


@pytest.mark.parametrize("linked", ["sqlcipher"], indirect=True)
def test_accept_in_a_browser(linked: Site) -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from tests.test_web_browser import SCREENSHOTS, launch_chromium

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(linked.app, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                context = browser.new_context(base_url=base, locale="ko-KR")
                context.set_default_timeout(15_000)
                page = context.new_page()
                page.goto("/login")
                page.fill("#username", "reviewer")
                page.fill("#passphrase", password("reviewer"))
                page.click("form.stack button[type=submit]")
                page.wait_for_url(re.compile(r".*/dashboard$"))
                page.click("header.site nav a[href='/links']")
                page.wait_for_url(re.compile(r".*/links$"))
                top = page.locator("article.pair").first
                link_id = top.get_attribute("id")
                assert link_id and top.locator("table.evidence tbody tr").count() >= 3
                heading = page.locator("h1")
                assert heading.inner_text() == "연결 검토"
                # Hangul is drawn with a font that has it: every character missing from all
                # fonts is drawn as the same empty box, two syllables that have glyphs differ.
                drawn = heading.evaluate(
                    """h => [...'연결'].map(ch => {
                        const c = document.createElement('canvas');
                        c.width = 64; c.height = 64;
                        const g = c.getContext('2d');
                        g.font = `48px ${getComputedStyle(h).fontFamily}`;
                        g.fillText(ch, 4, 52);
                        return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
                    })"""
                )
                assert drawn[0] != drawn[1] and set(drawn[0].split(",")) != {"0"}
                page.screenshot(path=str(SCREENSHOTS / "links-review.png"))
                top.locator("button[value=accept]").click()
                page.wait_for_url(re.compile(r".*/links\?kind=persons&status=pending.*"))
                assert page.locator(f"article#{link_id}").count() == 0
                page.click("nav.tabs a:has-text('수락됨')")
                page.wait_for_url(re.compile(r".*status=accepted.*"))
                accepted = page.locator(f"article#{link_id}")
                assert accepted.count() == 1
                assert accepted.locator("button[value=undo]").count() == 1
                page.screenshot(path=str(SCREENSHOTS / "links-accepted.png"))
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()



def test_each_pair_shows_the_two_records_side_by_side(linked: Site) -> None:
    client = login(linked.app, "reviewer")
    client.cookies.set("sillok_lang", "en")
    top = _pending(client)[0]
    values = {v["field"]: (v["left"], v["right"]) for v in top["values"]}
    assert set(values) == {"names", "birth_edtf", "sex", "origin"}
    archive = _server_archive(linked)
    for side, record_id in ((0, top["left_id"]), (1, top["right_id"])):
        names = [n["name"] for n in archive.records.show("person", record_id)["names"]]
        assert values["names"][side] == "; ".join(names)
    html = client.get("/links").text
    first = html[html.index(f'id="link-{top["id"]}"'):]
    first = first[: first.index("</article>")]
    assert "The two records" in first and values["names"][0] in first
    # a viewer sees the same lines, but not the names its role may not read
    viewer = login(linked.app, "viewer")
    seen = next(link for link in _pending(viewer) if link["id"] == top["id"])
    shown = {v["field"]: v["left"] for v in seen["values"]}
    assert values["names"][0] not in shown.get("names", "")
