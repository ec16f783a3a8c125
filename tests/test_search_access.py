"""One search access rule for every way in: the library, the command line and the web.

A word can match a record only through what the record is indexed under; if that holds a field
the role may not read (a victim's name, a sealed narrative), the match itself would tell the
role what the field says. Each role asks the same questions of the same archive through the
Python API, ``sillok --user NAME search`` and ``/api/search``, and must get the same answer:
the one the access policy gives (written out here from docs/security.md, not computed from the
code under test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.security.policy import ROLES
from tests.conftest import FAST
from tests.test_web_app import Site, build_site, login, password

runner = CliRunner()

#: roles that read a victim's name in an internal record, and in a confidential one
IDENTITY_INTERNAL = {"admin", "documenter", "reviewer", "coordinator"}
IDENTITY_CONFIDENTIAL = {"admin", "documenter", "reviewer"}
#: roles holding the seal key: words find a confidential act (its narrative sealed) for them only
SEAL_HOLDERS = {"admin", "documenter"}
EVERYONE = set(ROLES)

Hits = set[tuple[str, int]]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The YODOK archive with a user per role, served."""
    built = build_site(tmp_path_factory.mktemp("search-access") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def _questions(site: Site) -> list[tuple[str, dict[str, str], dict[tuple[str, int], set[str]]]]:
    """(words, filters, record -> the roles it is found for)."""
    ids = site.ids
    internal, confidential = ("act", ids["act_internal"]), ("act", ids["act_confidential"])
    victim = ("person", ids["victim"])
    by_name = {
        internal: IDENTITY_INTERNAL,
        confidential: IDENTITY_CONFIDENTIAL & SEAL_HOLDERS,
        victim: IDENTITY_INTERNAL,
    }
    return [
        ("Kim Yo-jong", {}, by_name),
        ("김여정", {}, by_name),
        ("여정", {}, by_name),
        # a word of the confidential act's type ("torture", alias "interrogation")
        ("interrogation", {}, {confidential: SEAL_HOLDERS}),
        ("Witness Alpha", {}, {("source", ids["source"]): set()}),
        # filters without words list every record the role may see
        ("", {"place": "Yodok"}, {internal: EVERYONE, confidential: EVERYONE}),
    ]


def _library(site: Site, role: str, query: str, filters: dict[str, str]) -> Hits:
    with Archive.open(site.folder, password(role), settings=FAST, user=role) as opened:
        act_filter = opened.searcher.act_filter(**filters) if filters else None
        return {(h.kind, h.id) for h in opened.searcher.search(query, act_filter)}


def _cli(site: Site, role: str, query: str, filters: dict[str, str]) -> Hits:
    options = [f"--{k}={v}" for k, v in filters.items()]
    result = runner.invoke(
        app,
        ["--user", role, "search", str(site.folder), query, *options, "--json"],
        env={"SILLOK_PASSPHRASE": password(role)},
    )
    assert result.exit_code == 0, result.stderr
    return {(h["kind"], h["id"]) for h in json.loads(result.stdout)}


def _web(site: Site, role: str, query: str, filters: dict[str, str]) -> Hits:
    params = {"q": query, **({"province": "KP-08"} if filters else {})}
    answer = login(site.app, role).get("/api/search", params=params)
    assert answer.status_code == 200, answer.text
    return {(h["kind"], h["id"]) for h in answer.json()["hits"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("way", ["library", "cli", "web"])
def test_search_finds_through_readable_fields_only(site: Site, role: str, way: str) -> None:
    ask = {"library": _library, "cli": _cli, "web": _web}[way]
    for query, filters, expected in _questions(site):
        found = ask(site, role, query, filters)
        for record, roles in expected.items():
            assert (record in found) == (role in roles), (way, role, query, record)
        if query and role not in IDENTITY_INTERNAL and query != "interrogation":
            # not even the victim's pseudonymous person record: the name matched it
            assert not [h for h in found if h[0] == "person"], (way, role, query, found)


@pytest.mark.parametrize("role", ROLES)
def test_every_way_in_gives_the_same_answer(site: Site, role: str) -> None:
    for query, filters, _expected in _questions(site):
        if filters:
            continue  # the web names its province filter differently
        answers = [way(site, role, query, filters) for way in (_library, _cli, _web)]
        assert answers[0] == answers[1] == answers[2], (role, query, answers)


def _facets(answer: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {name: {v["key"]: v["count"] for v in values} for name, values in answer.items()}


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_facets_and_the_sharing_filter_count_only_what_the_role_is_shown(
    site: Site, role: str
) -> None:
    client, ids = login(site.app, role), site.ids
    listed = client.get("/api/search", params={"province": "KP-08"}).json()
    assert {h["id"] for h in listed["hits"]} == {ids["act_internal"], ids["act_confidential"]}
    facets = _facets(listed["facets"])
    assert facets["year"] == {"2009": 2} and facets["agency"] == {"mss": 2}
    assert facets["act_type"] == {"arbitrary_detention": 1, "torture": 1}
    assert facets["sharing"] == {"confidential": 1, "internal": 1}
    # the confidential act is indexed under the victim's name: a word finds it for the
    # administrator only, and the facets count nothing the viewer is not shown
    narrowed = client.get("/api/search", params={"q": "Yodok", "sharing": "confidential"}).json()
    shown = [(h["kind"], h["id"]) for h in narrowed["hits"]]
    if role == "admin":
        assert shown == [("act", ids["act_confidential"])]
        assert _facets(narrowed["facets"])["sharing"] == {"confidential": 1}
    else:
        assert shown == [] and not any(_facets(narrowed["facets"]).values())
    public = client.get("/api/search", params={"sharing": "public"}).json()
    assert [h["id"] for h in public["hits"]] == [ids["act_public"]]
    with Archive.open(site.folder, password(role), settings=FAST, user=role) as opened:
        found = opened.searcher.search("Yodok", sharing="confidential")
    assert [(h.kind, h.id) for h in found] == shown
