"""Editing records on the web: the edit page of each kind and ``PATCH /api/records/KIND/ID``.

An edit saves a new version (the record page and the history show it, ``verify`` passes), a
stale version is refused (409), a bad value names its field and changes nothing (422, what was
typed kept), a viewer is refused everywhere, and a protected person's names are neither shown
nor overwritten by the edit form; at 375 px the edit page does not scroll sideways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from sillok.archive import Archive
from sillok.security.policy import PROTECTED
from tests.datasets import row
from tests.test_web_app import Site, build_site, csrf_of, login, password
from tests.test_web_browser import SCREENSHOTS, launch_chromium, live  # noqa: F401  (fixture)

VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The YODOK site, plus a victim marked protected."""
    built = build_site(tmp_path_factory.mktemp("edit") / "archive")
    archive = _server(built)
    archive.ingest.run_rows(
        [(1, row(source_ref="S-9", act_type="torture", act_date="2012", victim_name="Hidden Han",
                 victim_name_hangul="한숨김", protected="victim"))], "protected.csv")
    act = archive.records.show("source", archive.records.id_of("source", "S-9"))["acts"][0]
    built.ids["protected_person"] = archive.records.show("act", act)["victim_id"]
    built.ids["place"] = archive.places.resolve("Hyesan").id  # type: ignore[union-attr]
    built.ids["organization"] = archive.organizations.resolve("Bowibu").id  # type: ignore
    try:
        yield built
    finally:
        built.app.state.web.close()


def _server(site: Site) -> Archive:
    archive: Archive = site.app.state.web.archive
    return archive


def _english(role: str | None, site: Site) -> TestClient:
    client = login(site.app, role)
    client.cookies.set("sillok_lang", "en")
    return client


def _version(site: Site, kind: str, rid: int) -> int:
    return int(_server(site).records.show(kind, rid)["version"])


#: kind -> (the site's id key, field, new value, what the record page then shows)
EDITS = {
    "source": ("source", "title", "Testimony of spring, revised", "Testimony of spring, revised"),
    "event": ("event_internal", "title", "Detention at Yodok (revised)",
              "Detention at Yodok (revised)"),
    "act": ("act_internal", "description", "Held for two years", "Held for two years"),
    "person": ("victim", "names", "Kim Yo-jong\n김여정\nKim Yo Jong", "Kim Yo Jong"),
    "place": ("place", "aliases", "Hyesan-si; 혜산", "Hyesan-si"),
    "organization": ("organization", "aliases", "Bowibu; MSS; State Security Department",
                     "State Security Department"),
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_the_edit_page_saves_a_new_version(site: Site, kind: str) -> None:
    key, field, value, shown = EDITS[kind]
    rid = site.ids[key]
    client = _english("documenter", site)
    page = client.get(f"/records/{kind}/{rid}")
    assert f'href="/records/{kind}/{rid}/edit"' in page.text  # the Edit link
    form = client.get(f"/records/{kind}/{rid}/edit")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    version = int(VERSION.search(form.text)[1])  # type: ignore[index]
    assert version == _version(site, kind, rid)
    fields = dict(re.findall(r'<input id="(\w+)" name="\w+" value="([^"]*)"', form.text))
    answer = client.post(
        f"/records/{kind}/{rid}/edit",
        data={**fields, field: value, "version": str(version), "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/records/{kind}/{rid}?edited=1"
    after = client.get(answer.headers["location"])
    assert 'id="edited"' in after.text and shown in after.text
    assert _version(site, kind, rid) == version + 1
    history = client.get(f"/records/{kind}/{rid}/history")
    assert f'id="v{version + 1}"' in history.text and shown in history.text or kind == "person"
    if kind != "person":  # a person's names are rows of their own, not a column of the record
        assert 'class="changed"' in history.text
    report = _server(site).verification.run()
    assert report.ok, report.first_problem


def test_a_bad_value_names_its_field_keeps_the_form_and_saves_nothing(site: Site) -> None:
    rid = site.ids["event_public"]
    before = _server(site).records.history("event", rid)
    client = _english("documenter", site)
    version = _version(site, "event", rid)
    answer = client.post(
        f"/records/event/{rid}/edit",
        data={"title": "Kept as typed", "date": "the 13th of Smarch", "place": "Atlantis",
              "version": str(version), "csrf_token": csrf_of(client)},
    )
    assert answer.status_code == 422
    assert 'id="date-error"' in answer.text and 'id="place-error"' in answer.text
    assert 'value="Kept as typed"' in answer.text and "Smarch" in answer.text
    assert re.findall(r'<li><a href="#(\w+)">', answer.text) == ["date", "place"]
    assert _server(site).records.history("event", rid) == before
    api = client.patch(f"/api/records/event/{rid}",
                       json={"version": version, "date": "Smarch", "sharing": "secret"},
                       headers={"x-csrf-token": csrf_of(client)})
    assert api.status_code == 422
    assert set(api.json()["error"]["fields"]) == {"date", "sharing"}
    assert "Smarch" in api.json()["error"]["fields"]["date"]
    assert _server(site).records.history("event", rid) == before


def test_korean_edit_page_and_errors(site: Site) -> None:
    rid = site.ids["event_public"]
    client = login(site.app, "documenter")
    form = client.get(f"/records/event/{rid}/edit")
    assert "저장" in form.text and "공유 수준" in form.text
    answer = client.post(
        f"/records/event/{rid}/edit",
        data={"place": "Atlantis", "version": str(_version(site, "event", rid)),
              "csrf_token": csrf_of(client)},
    )
    assert answer.status_code == 422 and "목록에서 고르세요" in answer.text
    act = client.get(f"/records/act/{site.ids['act_internal']}/edit")
    assert 'value="2009년 3월"' in act.text and "2009-03" not in act.text  # no EDTF codes


def test_a_stale_version_is_refused(site: Site) -> None:
    rid = site.ids["source"]
    client = _english("documenter", site)
    version = _version(site, "source", rid)
    _server(site).editor.edit("source", rid, {"reliability": "high"}, version)  # someone else
    answer = client.post(
        f"/records/source/{rid}/edit",
        data={"title": "My late change", "version": str(version), "csrf_token": csrf_of(client)},
    )
    assert answer.status_code == 409
    assert "changed by someone else since you opened it" in answer.text
    assert 'value="My late change"' in answer.text
    assert _server(site).records.show("source", rid)["title"] != "My late change"
    api = client.patch(f"/api/records/source/{rid}", json={"title": "My late change"},
                       headers={"if-match": f'"{version}"', "x-csrf-token": csrf_of(client)})
    assert api.status_code == 409 and api.json()["error"]["code"] == "stale_version"
    missing = client.patch(f"/api/records/source/{rid}", json={"title": "no version"},
                           headers={"x-csrf-token": csrf_of(client)})
    assert missing.status_code == 428


def test_patch_edits_with_if_match_or_a_version_field(site: Site) -> None:
    rid = site.ids["act_public"]
    client = _english("admin", site)
    token = csrf_of(client)
    got = client.get(f"/api/records/act/{rid}")
    etag = got.headers["etag"]
    answer = client.patch(f"/api/records/act/{rid}",
                          json={"date": "2010년 봄", "facility_type": "kwanliso"},
                          headers={"if-match": etag, "x-csrf-token": token})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == int(etag.strip('"')) + 1
    assert body["changed"] == ["facility_type"]  # "2010년 봄" is the date it had
    assert answer.headers["etag"] == f'"{body["version"]}"'
    again = client.patch(f"/api/records/act/{rid}",
                         json={"version": body["version"], "date": "2011"},
                         headers={"x-csrf-token": token})
    assert again.status_code == 200 and again.json()["changed"] == ["date"]
    assert client.patch(f"/api/records/act/{rid}", json={"version": 1, "date": "2011"},
                        headers={"x-csrf-token": token}).status_code == 409
    # without the page's CSRF token a browser session may not change anything
    assert client.patch(f"/api/records/act/{rid}",
                        json={"version": again.json()["version"], "date": "2012"}
                        ).status_code == 403


@pytest.mark.parametrize("role", ["viewer", "analyst", "reviewer", None])
def test_roles_that_may_not_write_are_refused(site: Site, role: str | None) -> None:
    rid = site.ids["event_public"]
    before = _server(site).records.history("event", rid)
    client = _english(role, site)
    status = 401 if role is None else 403
    if role is not None:
        assert "/edit" not in client.get(f"/records/event/{rid}").text
        assert client.get(f"/records/event/{rid}/edit").status_code == 403
        token = csrf_of(client)
        assert client.post(f"/records/event/{rid}/edit",
                           data={"title": "x", "version": "1", "csrf_token": token}
                           ).status_code == 403
        headers = {"x-csrf-token": token}
    else:
        sent = client.get(f"/records/event/{rid}/edit", follow_redirects=False)
        assert sent.status_code in (303, 401) and "/login" in sent.headers.get("location", "/login")
        headers = {}
    api = client.patch(f"/api/records/event/{rid}", json={"version": 1, "title": "x"},
                       headers=headers)
    assert api.status_code == status
    assert _server(site).records.history("event", rid) == before


def test_a_protected_persons_names_are_not_shown_or_overwritten(site: Site) -> None:
    pid = site.ids["protected_person"]
    server = _server(site)
    documenter = _english("documenter", site)
    form = documenter.get(f"/records/person/{pid}/edit")
    assert form.status_code == 200
    assert "Hidden Han" not in form.text and "한숨김" not in form.text
    assert 'name="names"' not in form.text and 'id="withheld"' in form.text
    version = int(VERSION.search(form.text)[1])  # type: ignore[index]
    assert "status" in re.findall(r'<select id="(\w+)"', form.text)
    saved = documenter.post(
        f"/records/person/{pid}/edit",
        data={"status": "detained", "names": PROTECTED, "version": str(version),
              "csrf_token": csrf_of(documenter)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Hidden Han" not in documenter.get(saved.headers["location"]).text
    opened = server.editor.form("person", pid, reveal=True)
    assert opened.values["names"].splitlines() == ["Hidden Han", "한숨김"]
    # the roles that do not hold the seal key cannot overwrite them, by the page or the API
    for role in ("reviewer", "analyst", "coordinator"):
        client = _english(role, site)
        answer = client.patch(f"/api/records/person/{pid}",
                              json={"version": opened.version, "names": "Overwritten"},
                              headers={"x-csrf-token": csrf_of(client)})
        assert answer.status_code == 403
        assert "Hidden" not in answer.text and "한숨김" not in answer.text
    assert server.editor.form("person", pid, reveal=True).values["names"] == opened.values[
        "names"]


# --- in a browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium(live: tuple[str, Site]) -> Iterator[Browser]:  # noqa: F811
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_edit_page_fits_a_phone(chromium: Browser, live: tuple[str, Site],  # noqa: F811
                                    lang: str) -> None:
    base, built = live
    context = chromium.new_context(base_url=base, viewport={"width": 375, "height": 812})
    context.add_cookies([{"name": "sillok_lang", "value": lang, "url": base}])
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "documenter")
    page.fill("#passphrase", password("documenter"))
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/dashboard")
    sideways: dict[str, Any] = {}
    for kind, key in (("act", "act_internal"), ("source", "source"), ("person", "victim")):
        page.goto(f"/records/{kind}/{built.ids[key]}/edit")
        page.screenshot(path=str(SCREENSHOTS / f"phone-{lang}-edit-{kind}.png"), full_page=True)
        sideways[kind] = page.evaluate(
            "document.scrollingElement.scrollWidth - window.innerWidth")
    context.close()
    assert all(v <= 0 for v in sideways.values()), sideways
