"""Deciding several links at once: ``Links.decide_many`` (one transaction, all or none) and
the queue page's ticked pairs (``POST /links/decisions``) and its API twin, on both stores.

The module's own linked site per store (``tests.test_web_links.linked``); each test decides
pairs at the head of the queue (a pair left pending may be taken again by the next test).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sillok.errors import InvalidInput, NotFound
from tests.test_web_app import Site, csrf_of, login
from tests.test_web_links import _pending, _server_archive, linked

__all__ = ["linked"]  # the fixture, used by name

CHECKBOX = re.compile(r'<input type="checkbox" name="ids" value="(\d+)" id="pick-\1"')


def _statuses(site: Site, ids: list[int]) -> list[str]:
    archive = _server_archive(site)
    return [archive.records.history("link", i)[-1]["status"] for i in ids]


def _bulk(client: TestClient, ids: list[int], verdict: str, **extra: Any) -> Any:
    data: dict[str, Any] = {"verdict": verdict, "ids": [str(i) for i in ids],
                            "csrf_token": csrf_of(client, "/links"), **extra}
    return client.post("/links/decisions", data=data, follow_redirects=False)


def _take(site: Site, n: int) -> list[int]:
    """The first ``n`` pairs of the queue (the first page shows them)."""
    links = _pending(login(site.app, "reviewer"))
    chosen = [link["id"] for link in links[:n]]
    assert len(chosen) == n
    return chosen


def test_three_pairs_accepted_at_once_are_three_versions(linked: Site) -> None:
    archive = _server_archive(linked)
    before = archive.verification.run()
    ids = _take(linked, 3)
    client = login(linked.app, "reviewer")
    client.cookies.set("sillok_lang", "en")
    page = client.get("/links").text
    boxes = [int(i) for i in CHECKBOX.findall(page)]
    assert set(ids) <= set(boxes)  # a labelled box per pending pair
    assert f'<label for="pick-{ids[0]}">Select link {ids[0]}</label>' in page
    assert 'action="/links/decisions"' in page and "Accept selected" in page

    answer = _bulk(client, ids, "accept")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/links?kind=persons&status=pending&page=1&accepted=3"
    shown = client.get(answer.headers["location"]).text
    assert 'id="decided">Accepted 3 pairs.</p>' in shown
    client.cookies.set("sillok_lang", "ko")
    assert "쌍 3개를 수락했습니다." in client.get(answer.headers["location"]).text
    for link_id in ids:
        history = archive.records.history("link", link_id)
        assert [v["status"] for v in history] == ["pending", "accepted"]
        assert history[-1]["updated_by"] == "reviewer"
        assert f'id="pick-{link_id}"' not in shown  # no longer in the queue
    after = archive.verification.run()
    assert after.ok and after.versions == before.versions + 3  # one version per pair


def test_an_unknown_id_leaves_all_of_them_pending(linked: Site) -> None:
    ids = _take(linked, 2)
    client = login(linked.app, "reviewer")
    client.cookies.set("sillok_lang", "en")
    refused = _bulk(client, [*ids, 999_999], "reject")
    assert refused.status_code == 404 and "999999" in refused.text
    header = {"X-CSRF-Token": csrf_of(client, "/links")}
    api = client.post("/api/links/decisions", json={"ids": [ids[0], 999_998], "verdict": "accept"},
                      headers=header)
    assert api.status_code == 404 and "999998" in api.json()["error"]["message"]
    assert _statuses(linked, ids) == ["pending", "pending"]

    done = client.post("/api/links/decisions", json={"ids": ids, "verdict": "reject"},
                       headers=header)
    assert done.status_code == 200
    assert done.json() == {"decided": 2, "ids": ids, "status": "rejected"}
    assert _statuses(linked, ids) == ["rejected", "rejected"]
    # a pair decided already refuses the whole call, through the API too
    again = client.post("/api/links/decisions", json={"ids": ids, "verdict": "accept"},
                        headers=header)
    assert again.status_code == 422 and again.json()["error"]["code"] == "invalid_input"
    assert str(ids[0]) in again.json()["error"]["message"]


def test_roles_without_the_review_right_and_missing_csrf_change_nothing(linked: Site) -> None:
    ids = _take(linked, 2)
    for role in ("viewer", "analyst", "coordinator"):
        client = login(linked.app, role)
        assert 'form="links-bulk"' not in client.get("/links").text
        refused = _bulk(client, ids, "accept")
        assert refused.status_code == 403 and "<h1>" in refused.text
        api = client.post("/api/links/decisions", json={"ids": ids, "verdict": "accept"},
                          headers={"X-CSRF-Token": csrf_of(client, "/links")})
        assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
    reviewer = login(linked.app, "reviewer")
    data = {"verdict": "accept", "ids": [str(i) for i in ids]}
    assert reviewer.post("/links/decisions", data=data).status_code == 403
    forged = reviewer.post("/links/decisions", data={**data, "csrf_token": "forged"})
    assert forged.status_code == 403
    api = reviewer.post("/api/links/decisions", json={"ids": ids, "verdict": "accept"})
    assert api.status_code == 403
    assert _statuses(linked, ids) == ["pending", "pending"]


def test_nothing_selected_or_a_bad_verdict_is_a_clear_error_in_korean(linked: Site) -> None:
    ids = _take(linked, 1)
    client = login(linked.app, "reviewer")
    client.cookies.set("sillok_lang", "ko")
    page = client.get("/links").text
    assert "선택한 쌍 수락" in page and "선택한 쌍 거부" in page and f"연결 {ids[0]} 선택" in page
    empty = _bulk(client, [], "accept")
    assert empty.status_code == 422 and "<h1>" in empty.text and "Traceback" not in empty.text
    assert "선택한 연결이 없습니다" in empty.text
    assert "no links were chosen" not in empty.text
    undo = _bulk(client, ids, "undo")
    assert undo.status_code == 422 and "'undo'" in html.unescape(undo.text)
    header = {"X-CSRF-Token": csrf_of(client, "/links")}
    api = client.post("/api/links/decisions", json={"ids": [], "verdict": "accept"},
                      headers=header)
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_input"
    api = client.post("/api/links/decisions", json={"ids": [0], "verdict": "accept"},
                      headers=header)
    assert api.status_code == 422
    assert _statuses(linked, ids) == ["pending"]


def test_the_library_refuses_a_decided_pair_and_writes_nothing(linked: Site) -> None:
    links = _server_archive(linked).links
    pending = _take(linked, 2)
    assert links.decide(pending[0], "accept") == "accepted"
    with pytest.raises(InvalidInput) as refused:
        links.decide_many([pending[1], pending[0]], "reject")
    said = str(refused.value)
    assert str(pending[0]) in said and "accepted" in said
    assert _statuses(linked, pending) == ["accepted", "pending"]
    with pytest.raises(InvalidInput, match="'undo'"):
        links.decide_many([pending[1]], "undo")
    with pytest.raises(NotFound, match="424242"):
        links.decide_many([pending[1], 424_242], "accept")
    assert _statuses(linked, pending) == ["accepted", "pending"]
    # the same id twice is one decision
    assert links.decide_many([pending[1], pending[1]], "reject") == 1
    history = _server_archive(linked).records.history("link", pending[1])
    assert [v["status"] for v in history] == ["pending", "rejected"]
