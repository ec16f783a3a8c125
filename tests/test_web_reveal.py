"""Opening sealed fields on a record page: the page shows what the opening opened, to a role
that holds the seal key, and the archive records the opening once; other roles get nothing
more, and nothing is recorded for them."""

from __future__ import annotations

import pytest

from tests.test_web_app import Site, login, site  # noqa: F401  (fixture)

INFORMANT = "Witness Alpha"  # the YODOK informant of the first source (sealed)


def _openings(site: Site) -> int:  # noqa: F811
    return len(site.app.state.web.archive.audit.events(action="open_sealed", limit=10_000))


@pytest.mark.parametrize("role", ["admin", "documenter"])
def test_opening_a_source_shows_its_informant(site: Site, role: str) -> None:  # noqa: F811
    client = login(site.app, role)
    client.cookies.set("sillok_lang", "en")  # the marker as written in English: [protected]
    url = f"/records/source/{site.ids['source']}"
    closed = client.get(url).text
    assert INFORMANT not in closed and "[protected]" in closed
    assert f'href="{url}?reveal=1"' in closed
    before = _openings(site)
    opened = client.get(f"{url}?reveal=1")
    assert opened.status_code == 200
    assert INFORMANT in opened.text
    assert "[protected]" not in opened.text  # nothing sealed is left closed on the page
    assert 'id="protected"' not in opened.text  # and no button to open what is open
    assert _openings(site) == before + 1  # one opening, recorded once
    # the page and the API agree
    api = client.get(f"/api{url}?reveal=true").json()
    assert api["data"]["informant"] == INFORMANT and api["protected"] == []


@pytest.mark.parametrize("role", ["coordinator", "reviewer", "analyst", "viewer"])
def test_a_role_without_the_seal_key_opens_nothing(site: Site, role: str) -> None:  # noqa: F811
    client = login(site.app, role)
    url = f"/records/source/{site.ids['source']}"
    before = _openings(site)
    page = client.get(f"{url}?reveal=1")
    assert page.status_code == 200
    assert INFORMANT not in page.text
    assert f'href="{url}?reveal=1"' not in page.text
    assert INFORMANT not in client.get(f"/api{url}?reveal=true").text
    assert _openings(site) == before
