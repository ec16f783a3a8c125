"""Role x route x field: what each role may open and do, and what it may see in HTML and JSON.

The expectations are written out here, from the access policy's tables as documented
(docs/security.md, sillok/security/policy.py), not computed from the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sillok.security.policy import ROLES
from tests.test_web_app import Site, csrf_of, login, site  # noqa: F401  (fixture)

EVERYONE = set(ROLES)
WRITERS = {"admin", "documenter"}
STATEMENT_WRITERS = {"admin", "coordinator", "documenter"}
PUBLISHERS = {"admin", "coordinator"}
#: roles that read identities (names) in internal records, and in confidential ones
IDENTITY_INTERNAL = {"admin", "documenter", "reviewer", "coordinator"}
IDENTITY_CONFIDENTIAL = {"admin", "documenter", "reviewer"}
NARRATIVE_CONFIDENTIAL = {"admin", "documenter", "reviewer"}
#: roles holding the seal key: a confidential narrative is sealed, and only they open it
SEAL_HOLDERS = {"admin", "documenter"}
DETAIL_INTERNAL = {"admin", "documenter", "reviewer", "coordinator", "analyst"}


@pytest.fixture(scope="module")
def clients(site: Site) -> Iterator[dict[str | None, TestClient]]:  # noqa: F811
    """A logged-in client per role, and a visitor (None)."""
    yield {role: login(site.app, role) for role in (*ROLES, None)}


def _pages(site: Site) -> list[tuple[str, set[str]]]:  # noqa: F811
    ids = site.ids
    return [
        ("/dashboard", EVERYONE),
        ("/search?q=Yodok", EVERYONE),
        (f"/records/act/{ids['act_public']}", EVERYONE),
        (f"/records/act/{ids['act_confidential']}/history", EVERYONE),
        (f"/records/source/{ids['source']}", EVERYONE),
        (f"/records/person/{ids['victim']}", EVERYONE),
        (f"/records/event/{ids['event_internal']}", EVERYONE),
        ("/records/place/2", EVERYONE),
        ("/testimonies/new", WRITERS),
        ("/import", WRITERS),
        ("/statements", STATEMENT_WRITERS),
        ("/statements/new", STATEMENT_WRITERS),
        (f"/statements/{ids['draft']}", STATEMENT_WRITERS),
        (f"/statements/{ids['draft']}/history", STATEMENT_WRITERS),
    ]


def _api(site: Site) -> list[tuple[str, set[str]]]:  # noqa: F811
    ids = site.ids
    return [
        ("/api/me", EVERYONE),
        ("/api/search?q=Yodok", EVERYONE),
        ("/api/stats?by=province", EVERYONE),
        (f"/api/records/act/{ids['act_internal']}", EVERYONE),
        (f"/api/records/act/{ids['act_internal']}/history", EVERYONE),
        (f"/api/statements/{ids['draft']}/history", STATEMENT_WRITERS),
        ("/api/statements?drafts=true", STATEMENT_WRITERS),
    ]


@pytest.mark.parametrize("role", [*ROLES, None])
def test_who_may_open_what(
    site: Site,  # noqa: F811
    clients: dict[str | None, TestClient],
    role: str | None,
) -> None:
    client = clients[role]
    for url, allowed in _pages(site):
        answer = client.get(url, follow_redirects=False)
        if role is None:
            assert answer.status_code == 303, url
            assert answer.headers["location"].startswith("/login"), url
        else:
            assert answer.status_code == (200 if role in allowed else 403), (role, url)
    for url, allowed in _api(site):
        answer = client.get(url)
        expected = 401 if role is None else (200 if role in allowed else 403)
        assert answer.status_code == expected, (role, url)
        if expected != 200:
            assert set(answer.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_write_and_publish(site: Site, role: str) -> None:  # noqa: F811
    client = login(site.app, role)
    token = csrf_of(client)
    created = client.post(
        "/statements/new",
        data={"title": f"By {role}", "body": "b", "language": "en", "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == (303 if role in STATEMENT_WRITERS else 403)
    publish = client.post(
        f"/statements/{site.ids['draft']}/publish",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert publish.status_code == (303 if role in PUBLISHERS else 403)
    if role in PUBLISHERS:  # put it back for the other roles' tests
        client.post(f"/statements/{site.ids['draft']}/withdraw", data={"csrf_token": token})
    entry = client.post(
        "/testimonies/new",
        data={"csrf_token": token, "act-0-0-act_type": "torture", "act-0-0-victim_name": "X"},
        follow_redirects=False,
    )
    assert entry.status_code == (303 if role in WRITERS else 403)
    upload = client.post(
        "/import",
        data={"csrf_token": token},
        files={"file": ("a.csv", b"source_ref,act_type\nS-9,torture\n", "text/csv")},
    )
    assert upload.status_code == (200 if role in WRITERS else 403)


def _fields(site: Site) -> list[tuple[str, str, set[str]]]:  # noqa: F811
    """(url, text, roles that see it) for the protected values of the YODOK records."""
    ids = site.ids
    internal, confidential = ids["act_internal"], ids["act_confidential"]
    public, victim = ids["act_public"], ids["victim"]
    return [
        (f"/records/act/{internal}", "Kim Yo-jong", IDENTITY_INTERNAL),
        (f"/records/act/{internal}", "요덕수용소에 수감되었다", EVERYONE),
        (f"/records/act/{confidential}", "Kim Yo-jong", IDENTITY_CONFIDENTIAL),
        (f"/records/act/{confidential}", "Pak Chol", IDENTITY_CONFIDENTIAL),
        # sealed: shown to nobody until opened, and opened only with the seal key
        (f"/records/act/{confidential}", "Beaten during interrogation", set()),
        (
            f"/records/act/{confidential}?reveal=1",
            "Beaten during interrogation",
            NARRATIVE_CONFIDENTIAL & SEAL_HOLDERS,
        ),
        (f"/records/act/{confidential}/history", "Beaten during", set()),
        (f"/records/act/{public}", "Ri Chol-su", EVERYONE),
        (f"/records/person/{victim}", "Kim Yo-jong", IDENTITY_INTERNAL),
        (f"/records/person/{victim}", "김여정", IDENTITY_INTERNAL),
        (f"/records/person/{victim}", "1960", DETAIL_INTERNAL),
        (f"/records/event/{ids['event_internal']}", "Kim Yo-jong", IDENTITY_INTERNAL),
        (f"/records/source/{ids['source']}", "Kim Yo-jong", IDENTITY_INTERNAL),
        # nobody ever sees an informant's name
        (f"/records/source/{ids['source']}", "Witness Alpha", set()),
        (f"/records/source/{ids['source']}/history", "Witness Alpha", set()),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_redacted_fields_never_reach_html_or_json(
    site: Site,  # noqa: F811
    clients: dict[str | None, TestClient],
    role: str,
) -> None:
    client = clients[role]
    for url, text, allowed in _fields(site):
        for address in (url, f"/api{url}"):
            answer = client.get(address)
            assert answer.status_code == 200, (role, address)
            assert (text in answer.text) == (role in allowed), (role, address, text)
    # a refused field is named on the page, never shown
    page = client.get(f"/records/act/{site.ids['act_confidential']}")
    if role not in IDENTITY_CONFIDENTIAL:
        # the marker in the page's language: "[redacted]", or "[가림]" on a Korean page
        marker = "[가림]" if 'lang="ko"' in page.text else "[redacted]"
        assert 'id="refused"' in page.text and marker in page.text


@pytest.mark.parametrize("role", ROLES)
def test_search_never_answers_through_a_field_the_role_may_not_read(
    site: Site,  # noqa: F811
    clients: dict[str | None, TestClient],
    role: str,
) -> None:
    client = clients[role]
    found = client.get("/api/search", params={"q": "Kim Yo-jong"}).json()
    acts = {h["id"] for h in found["hits"] if h["kind"] == "act"}
    persons = [h for h in found["hits"] if h["kind"] == "person"]
    ids = site.ids
    assert (ids["act_internal"] in acts) == (role in IDENTITY_INTERNAL)
    # a confidential act is also indexed under its sealed description: words find it only for
    # roles that may read both the name and the sealed text
    assert (ids["act_confidential"] in acts) == (role in IDENTITY_CONFIDENTIAL & SEAL_HOLDERS)
    assert bool(persons) == (role in IDENTITY_INTERNAL)
    for hit in found["hits"]:
        assert "Witness Alpha" not in hit["title"]
    # without words, filters list every record the role may see, names left out as needed
    listed = client.get("/api/search", params={"province": "KP-08"}).json()
    titles = {h["id"]: h["title"] for h in listed["hits"]}
    assert ids["act_confidential"] in titles
    assert ("Kim Yo-jong" in titles[ids["act_confidential"]]) == (role in IDENTITY_CONFIDENTIAL)
    assert client.get("/api/search", params={"q": "Witness Alpha"}).json()["total"] == 0
    # a word of a sealed narrative finds its act only for the holders of the seal key
    sealed = client.get("/api/search", params={"q": "interrogation"}).json()["hits"]
    assert (ids["act_confidential"] in {h["id"] for h in sealed}) == (role in SEAL_HOLDERS)


def test_the_public_side_shows_only_what_is_published(
    site: Site,  # noqa: F811
    clients: dict[str | None, TestClient],
) -> None:
    visitor = clients[None]
    assert "Secret draft" not in visitor.get("/news?language=en").text
    assert visitor.get(f"/news/{site.ids['draft']}").status_code == 404
    assert visitor.get(f"/api/statements/{site.ids['draft']}").status_code == 404
    item = visitor.get(f"/news/{site.ids['joint']}").text
    # the related events are internal (imports make events internal): a visitor is not told
    assert "Joint statement on Yodok" in item and "First paragraph." in item
    assert "Test Alliance for Rights" in item and "시험인권모임" in item
    assert "Public execution in Hyesan" not in item and "요덕 수용소 구금" not in item
    assert visitor.get(f"/api/statements/{site.ids['joint']}").json()["events"] == []
    staff = clients["viewer"].get(f"/news/{site.ids['joint']}").text
    assert "Public execution in Hyesan" in staff and "요덕 수용소 구금" in staff
    assert visitor.get("/api/statements?drafts=true").status_code == 401


PROVERS = {"admin", "coordinator", "documenter", "reviewer"}


@pytest.mark.parametrize("role", ROLES)
def test_proof_download_verifies_without_the_archive(
    site: Site,  # noqa: F811
    clients: dict[str | None, TestClient],
    role: str,
) -> None:
    from sillok.custody.proofs import verify_bundle

    client = clients[role]
    url = f"/records/act/{site.ids['act_confidential']}/proof"
    answer = client.get(url)
    assert answer.status_code == (200 if role in PROVERS else 403), role
    if role not in PROVERS:
        assert f'href="{url}"' not in client.get(url.removesuffix("/proof")).text
        return
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    bundle = answer.json()
    check = verify_bundle(bundle)
    assert check.record_id == site.ids["act_confidential"]  # type: ignore[union-attr]
    assert "Beaten during interrogation" not in answer.text  # sealed values never leave
    assert "description" in bundle["withheld"]
    api = client.get(f"/api{url}?version=1")
    assert api.status_code == 200 and api.json()["record"]["version"] == 1


def test_opening_a_sealed_field_is_audited(site: Site) -> None:  # noqa: F811
    documenter = login(site.app, "documenter")
    act = site.ids["act_confidential"]
    archive = site.app.state.web.archive
    before = len(archive.audit.events(action="open_sealed", limit=1000))
    closed = documenter.get(f"/records/act/{act}").text
    reveal_button = f'href="/records/act/{act}?reveal=1" rel="nofollow"'
    assert 'id="protected"' in closed and reveal_button in closed
    opened = documenter.get(f"/records/act/{act}?reveal=1").text
    assert "Beaten during interrogation" in opened
    after = archive.audit.events(action="open_sealed", limit=1000)
    assert len(after) == before + 1 and after[0]["actor"] == "documenter"
    # a reviewer reads narratives but holds no seal key: asking to reveal changes nothing
    reviewer = login(site.app, "reviewer")
    page = reviewer.get(f"/records/act/{act}?reveal=1").text
    assert "Beaten during interrogation" not in page
    assert 'rel="nofollow"' not in page
