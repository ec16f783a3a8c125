"""What the web application keeps between requests: caches valid until the archive changes,
never crossing from one role to another; the pooled store under concurrent requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from sillok.archive import Archive
from sillok.records.search import Searcher
from sillok.web.caches import ArchiveCache
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv
from tests.test_web_app import CSRF, Site, build_site, csrf_of, login

TOTAL_ACTS = re.compile(r'<span class="n">(\d+)</span> Acts')
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own: these tests write to the archive."""
    built = build_site(tmp_path_factory.mktemp("web-cache") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def test_a_value_is_kept_for_one_state_of_the_archive() -> None:
    cache = ArchiveCache(size=2)
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name

    assert cache.get((1, b"a"), "k", lambda: compute("first")) == "first"
    assert cache.get((1, b"a"), "k", lambda: compute("again")) == "first"
    assert cache.get((2, b"b"), "k", lambda: compute("after a write")) == "after a write"
    assert cache.get((2, b"b"), "k", lambda: compute("again")) == "after a write"
    # a mark that differs in its frontier alone is another state (a restored copy, say)
    assert cache.get((2, b"c"), "k", lambda: compute("restored")) == "restored"
    for key in ("x", "y", "z"):
        cache.get((2, b"c"), key, partial(compute, key))
    assert len(cache) == 2  # the least recently used went first
    assert calls == ["first", "after a write", "restored", "x", "y", "z"]


def test_a_value_computed_while_the_archive_changed_is_not_kept() -> None:
    cache = ArchiveCache()

    def racing() -> str:
        cache.get((2, b"new"), "other", lambda: "a request after the write")
        return "computed from the old state"

    assert cache.get((1, b"old"), "k", racing) == "computed from the old state"
    assert cache.get((1, b"old"), "k", lambda: "fresh") == "fresh"


def test_search_matches_are_shared_but_each_role_sees_only_its_own(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, viewer = login(site.app, "admin"), login(site.app, "viewer")
    confidential = site.ids["act_confidential"]
    searches: list[str] = []
    match = Searcher.match

    def counted(self: Searcher, query: str, *args: Any, **kwargs: Any) -> Any:
        searches.append(query)
        return match(self, query, *args, **kwargs)

    monkeypatch.setattr(Searcher, "match", counted)

    def acts(client: object, query: str) -> set[int]:
        found = client.get("/api/search", params={"q": query}).json()  # type: ignore[attr-defined]
        return {h["id"] for h in found["hits"] if h["kind"] == "act"}

    # the admin's search fills the cache; the viewer's same search is refused the sealed match
    assert confidential in acts(admin, "interrogation")
    assert confidential not in acts(viewer, "interrogation")
    # and the other way round: the viewer's search does not narrow the admin's
    assert confidential not in acts(viewer, "during")
    assert confidential in acts(admin, "during")
    assert searches == ["interrogation", "during"]  # the second of each came from the cache
    titles = viewer.get("/api/search", params={"province": "KP-08"}).json()["hits"]
    assert all("Kim Yo-jong" not in h["title"] for h in titles if h["id"] == confidential)


def test_dashboard_and_search_follow_a_write_from_another_process(site: Site) -> None:
    client = login(site.app, "admin")
    before = int(TOTAL_ACTS.findall(client.get("/dashboard", headers=ENGLISH).text)[0])
    assert client.get("/api/search", params={"q": "Chongjin"}).json()["total"] == 0
    # the command line imports while the server runs (its clock does not move: no expiry)
    with Archive.open(site.folder, PASSPHRASE, FAST) as other:
        rows = [dict(YODOK[2], source_ref="S-CACHE", place="Chongjin", sharing="internal")]
        report = other.ingest.run(write_csv(site.folder.parent / "more.csv", rows))
        assert report.committed and report.created["act"] == 1, report
    assert int(TOTAL_ACTS.findall(client.get("/dashboard", headers=ENGLISH).text)[0]) == before + 1
    assert client.get("/api/search", params={"q": "Chongjin"}).json()["total"] >= 1


def test_concurrent_pages_on_the_pooled_store(site: Site) -> None:
    clients = [login(site.app, role) for role in ("admin", "viewer", "analyst")]
    urls = [
        "/dashboard",
        "/search?q=Yodok",
        f"/records/act/{site.ids['act_public']}",
        "/api/search?q=요덕&province=KP-08",
    ]

    def fetch(n: int) -> tuple[int, int]:
        client = clients[n % len(clients)]
        return n, client.get(urls[n % len(urls)]).status_code

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fetch, range(96)))
    assert [status for _n, status in answers] == [200] * 96


def test_a_kept_dashboard_shows_each_person_their_own_page(site: Site) -> None:
    pages = {}
    clients = [(role, login(site.app, role)) for role in ("admin", "viewer", "admin")]
    for role, client in clients:  # each login is audited, a write: pages after all of them
        pages[role] = client.get("/dashboard", headers=ENGLISH).text
        token = CSRF.search(pages[role])
        assert token is not None and token[1] == csrf_of(client, "/dashboard")
    assert 'admin</span> (' in pages["admin"] and 'admin</span> (' not in pages["viewer"]
    assert 'viewer</span> (' in pages["viewer"] and 'viewer</span> (' not in pages["admin"]
    assert site.app.state.web.cache._values.keys() >= {
        ("dashboard", "admin", "en"),
        ("dashboard", "viewer", "en"),
    }


def test_a_kept_search_page_never_shows_one_role_what_another_may_see(site: Site) -> None:
    admin, viewer = login(site.app, "admin"), login(site.app, "viewer")
    link = f'href="/records/act/{site.ids["act_confidential"]}"'
    for _ in range(2):  # the second round is answered from the cache
        for client, role, sees in ((admin, "admin", True), (viewer, "viewer", False)):
            page = client.get("/search", params={"q": "interrogation"}, headers=ENGLISH).text
            assert (link in page) == sees, role
            assert f"{role}</span> (" in page
    assert any(key[:2] == ("search page", "viewer") for key in site.app.state.web.cache._values)
