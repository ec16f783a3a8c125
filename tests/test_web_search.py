"""Web search over more matches than a page, or a hundred: exact totals, facets over every
match, paging to the end, on SQLCipher and PostgreSQL, and counts that are the role's."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.datasets import row, write_csv
from tests.test_search import CROWD_LEVELS, crowd
from tests.test_web_app import Site, build_site, login

CROWD = 260  # acts in Onsong: more than the hundred a search used to stop at
#: acts in Onsong that one facet value alone does not describe: an uncertain date, a facility
#: in another province, a narrower act type
VARIED = [
    row(
        source_ref=f"S-ON-V{i}",
        act_type=act_type,
        act_date=date,
        place="Onsong",
        facility=facility,
        victim_ref=f"V-ON-V{i}",
        victim_name=f"Varied Person {i}",
        sharing="public",
    )
    for i, (act_type, date, facility) in enumerate(
        [
            ("torture", "around 2005", ""),
            ("arbitrary_detention", "2004/2006", "요덕 제15호 관리소"),
            ("political_prison_camp_imprisonment", "1990년대", "요덕 제15호 관리소"),
            ("execution", "2003", ""),
        ]
    )
]


@pytest.fixture(params=["sqlcipher", "postgresql"])
def crowded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The web site on the YODOK archive with :data:`CROWD` more acts in Onsong."""
    database = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    built = build_site(tmp_path / "archive", database=database)
    try:
        rows = crowd(CROWD) + VARIED
        built.app.state.web.archive.ingest.run(write_csv(tmp_path / "crowd.csv", rows))
        yield built
    finally:
        built.app.state.web.close()


def _total(page: str) -> int:
    found = re.search(r'<h2 id="results-title">(\d+) matches</h2>', page)
    assert found, page
    return int(found[1])


def test_search_counts_pages_and_facets_every_match(crowded: Site) -> None:
    client = login(crowded.app, "documenter")
    client.cookies.set("sillok_lang", "en")
    archive = crowded.app.state.web.archive
    expected = archive.searcher.visible(archive.searcher.match("Onsong", limit=10_000))
    assert len([h for h in expected if h[0] == "act"]) == CROWD + len(VARIED)
    answer = client.get("/api/search", params={"q": "Onsong"}).json()
    assert answer["total"] == len(expected) > 100
    page = client.get("/search", params={"q": "Onsong"}).text
    assert _total(page) == len(expected)
    # every page is reachable, and the last one holds what is left
    size = 20
    last = math.ceil(len(expected) / size)
    tail = client.get("/search", params={"q": "Onsong", "page": last}).text
    assert tail.count("<li><span class=\"kind\">") == len(expected) - (last - 1) * size
    assert 'rel="next"' not in tail and 'rel="prev"' in tail
    n = len(expected)
    assert f"{(last - 1) * size + 1}–{n} of {n}, page {last} of {last}" in tail
    seen = []
    for offset in range(0, len(expected), 100):
        chunk = client.get("/api/search", params={"q": "Onsong", "offset": offset, "limit": 100})
        seen += [(h["kind"], h["id"]) for h in chunk.json()["hits"]]
    assert seen == expected
    # facets count every match, and what a facet says is what choosing it finds
    facets = answer["facets"]
    types = {v["key"]: v["count"] for v in facets["act_type"]}
    detention = sum(1 for i in range(CROWD) if i % 3 == 1)
    assert types["arbitrary_detention"] == detention + 2  # with the camp imprisonment
    for name, values in facets.items():
        for value in values:
            chosen = client.get("/api/search", params={"q": "Onsong", name: value["key"]})
            assert chosen.json()["total"] == value["count"], (name, value)
    # a filter alone lists every act it matches too
    torture = client.get("/api/search", params={"act_type": "torture"}).json()
    assert torture["total"] == sum(1 for i in range(CROWD) if i % 3 == 0) + 2  # VARIED, YODOK


def test_a_viewer_s_totals_count_only_what_a_viewer_is_shown(crowded: Site) -> None:
    documenter = login(crowded.app, "documenter").get("/api/search", params={"q": "Onsong"})
    viewer = login(crowded.app, "viewer").get("/api/search", params={"q": "Onsong"}).json()
    public = sum(1 for i in range(CROWD) if CROWD_LEVELS[i % 4] == "public") + len(VARIED)
    # a viewer reads no victim's name below public: words find public acts only, and the
    # counts say nothing of the others
    acts = [h for h in viewer["hits"] if h["kind"] == "act"]
    assert viewer["total"] < documenter.json()["total"]
    counts = {v["key"]: v["count"] for v in viewer["facets"]["sharing"]}
    assert counts == {"public": viewer["total"]}  # every match the viewer is shown is public
    shown: list[dict[str, object]] = []
    for offset in range(0, viewer["total"], 100):
        chunk = login(crowded.app, "viewer").get(
            "/api/search", params={"q": "Onsong", "limit": 100, "offset": offset}
        )
        shown += chunk.json()["hits"]
    assert len(shown) == viewer["total"]
    assert len([h for h in shown if h["kind"] == "act"]) == public
    assert len(acts) == min(public, 20)
