"""Merging two persons on the web: from a person's page ("same person as…") and from the link
review page, as an accepted reviewed link shown on both person pages, and undone (the link
rejected, its history kept); roles that may not review are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sillok.archive import Archive
from tests.test_web_app import Site, build_site, csrf_of, login


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(tmp_path_factory.mktemp("merge") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def _server(site: Site) -> Archive:
    archive: Archive = site.app.state.web.archive
    return archive


def _english(role: str, site: Site) -> TestClient:
    client = login(site.app, role)
    client.cookies.set("sillok_lang", "en")
    return client


def _merged(client: TestClient, person: int) -> list[str]:
    page = client.get(f"/records/person/{person}")
    section = page.text.split('id="merges-section"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<li id="merge-(\d+)"><a href="/records/person/(\d+)"', section)


def test_merge_and_undo_from_a_person_page(site: Site) -> None:
    first, second = site.ids["victim"], site.ids["victim_public"]
    client = _english("reviewer", site)
    page = client.get(f"/records/person/{first}")
    assert 'id="merge-form"' in page.text and "Same person as" in page.text
    answer = client.post(f"/records/person/{first}/merge",
                         data={"other": str(second), "csrf_token": csrf_of(client)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    link = _server(site).links.merged_with(first)[0][0]
    assert answer.headers["location"] == f"/records/person/{first}#merge-{link}"
    # shown on both pages, each naming the other
    assert _merged(client, first) == [(str(link), str(second))]
    assert _merged(client, second) == [(str(link), str(first))]
    clusters = _server(site).links.clusters()
    assert clusters[first] == clusters[second]
    undo = client.post(f"/records/person/{second}/merges/{link}/undo",
                       data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert undo.status_code == 303
    assert _merged(client, first) == [] and _merged(client, second) == []
    history = _server(site).records.history("link", link)
    assert [v["status"] for v in history] == ["accepted", "rejected"]
    # a link of other persons is not undone from this page
    assert client.post(f"/records/person/{first}/merges/999999/undo",
                       data={"csrf_token": csrf_of(client)}).status_code == 404


def test_merge_and_undo_from_the_link_review_page(site: Site) -> None:
    first, second = site.ids["victim"], site.ids["victim_public"]
    client = _english("documenter", site)
    page = client.get("/links?kind=persons&status=pending")
    assert 'action="/links/merge"' in page.text
    answer = client.post("/links/merge", data={"left": str(second), "right": str(first),
                                               "csrf_token": csrf_of(client)},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert "status=accepted" in answer.headers["location"]
    link = _server(site).links.merged_with(first)[0][0]
    accepted = client.get("/links?kind=persons&status=accepted")
    article = accepted.text.split(f'id="link-{link}"', 1)[1].split("</article>", 1)[0]
    assert "Undo merge" in article
    assert _merged(client, second) == [(str(link), str(first))]
    undone = client.post(f"/links/{link}", data={"verdict": "reject", "kind": "persons",
                                                 "status": "accepted",
                                                 "csrf_token": csrf_of(client)},
                         follow_redirects=False)
    assert undone.status_code == 303
    assert _merged(client, first) == []
    assert _server(site).records.history("link", link)[-1]["status"] == "rejected"
    # the API does the same
    api = client.post("/api/links/merge", json={"left_id": first, "right_id": second},
                      headers={"x-csrf-token": csrf_of(client)})
    assert api.status_code == 200 and api.json() == {"id": link, "status": "accepted"}


@pytest.mark.parametrize("role", ["viewer", "analyst", "coordinator"])
def test_roles_that_may_not_review_cannot_merge(site: Site, role: str) -> None:
    first, second = site.ids["victim"], site.ids["victim_public"]
    before = _server(site).links.merged_with(first)
    client = _english(role, site)
    assert 'id="merge-form"' not in client.get(f"/records/person/{first}").text
    token = csrf_of(client)
    assert client.post(f"/records/person/{first}/merge",
                       data={"other": str(second), "csrf_token": token}).status_code == 403
    assert client.post("/links/merge", data={"left": str(first), "right": str(second),
                                             "csrf_token": token}).status_code == 403
    assert client.post("/api/links/merge", json={"left_id": first, "right_id": second},
                       headers={"x-csrf-token": token}).status_code == 403
    assert _server(site).links.merged_with(first) == before


def test_a_bad_merge_is_refused_with_a_clear_error(site: Site) -> None:
    first = site.ids["victim"]
    client = _english("reviewer", site)
    token = csrf_of(client)
    itself = client.post(f"/records/person/{first}/merge",
                         data={"other": str(first), "csrf_token": token})
    assert itself.status_code == 422 and "itself" in itself.text
    missing = client.post(f"/records/person/{first}/merge",
                          data={"other": "999999", "csrf_token": token})
    assert missing.status_code == 404
    typed = client.post(f"/records/person/{first}/merge",
                        data={"other": "Kim", "csrf_token": token})
    assert typed.status_code == 422
