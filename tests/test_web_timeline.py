"""A person's and an event's acts read as a timeline: in time order, the earliest first,
undated acts last, dates written as people write them in the page's language."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from sillok.archive import Archive
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import row, write_csv
from tests.test_web_app import FakeClock, add_users, login

#: one invented victim, three acts of one event, written out of time order on purpose
ACTS = [("torture", "2012"), ("arbitrary_detention", "1998년 봄"), ("forced_labour", "")]


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, int, int]]:
    folder = tmp_path_factory.mktemp("timeline") / "archive"
    rows = [
        row(source_ref=f"S-{i}", source_type="testimony", event_ref="E-1",
            event_title="구금과 노동", act_type=act_type, act_date=date, place="요덕",
            victim_ref="V-1", victim_name="Test Person", victim_name_hangul="시험인",
            sharing="internal")
        for i, (act_type, date) in enumerate(ACTS)
    ]
    with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(folder.parent / "acts.csv", rows))
        hits = archive.searcher.search("", archive.searcher.act_filter())
        act = archive.records.show("act", hits[0].id)
        victim, event = act["victim_id"], act["event_id"]
        add_users(archive)
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=FakeClock()))
    try:
        yield app, victim, event
    finally:
        app.state.web.close()


def _items(html: str) -> list[str]:
    found = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S)
    assert found, html
    return re.findall(r"<li><a [^>]*>(.*?)</a></li>", found[1])


@pytest.mark.parametrize("kind", ["person", "event"])
def test_acts_in_time_order_in_both_languages(
    timeline: tuple[FastAPI, int, int], kind: str
) -> None:
    app, victim, event = timeline
    record = victim if kind == "person" else event
    client = login(app, "viewer")
    client.cookies.set("sillok_lang", "ko")
    korean = _items(client.get(f"/records/{kind}/{record}").text)
    assert len(korean) == 3
    assert "1998년 봄" in korean[0] and "2012" in korean[1]
    assert korean[2].startswith("강제노동") and "년" not in korean[2]  # undated: last
    client.cookies.set("sillok_lang", "en")
    english = _items(client.get(f"/records/{kind}/{record}").text)
    assert "spring 1998" in english[0] and "2012" in english[1]
    assert "1998-21" not in " ".join(english)  # no EDTF code in the list


def test_the_json_lists_acts_in_the_same_order(timeline: tuple[FastAPI, int, int]) -> None:
    app, victim, _ = timeline
    client = login(app, "viewer")
    acts = client.get(f"/api/records/person/{victim}").json()["data"]["acts"]
    types = [client.get(f"/api/records/act/{a}").json()["data"]["act_type"] for a in acts]
    assert types == ["arbitrary_detention", "torture", "forced_labour"]
