"""Reviews teach: rejected links tune the next run as accepted ones do, the queue follows the
latest model's probability, and the comparison levels a reviewer reads are in Korean on
Korean pages."""

from __future__ import annotations

import html
import re
from pathlib import Path

from sillok.archive import Archive
from sillok.linkage.events import EVENTS
from sillok.linkage.labels import correct, tune
from sillok.linkage.model import LinkageModel
from sillok.linkage.schema import PERSONS
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import write_csv
from tests.test_links import duplicated_victims
from tests.test_links_events import duplicated_events
from tests.test_web_app import add_users, login

EVIDENCE = re.compile(r'<table class="evidence">(.*?)</table>', re.S)


def _levels(evidence: list[dict[str, object]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(e["field"]), str(e["level"])) for e in evidence))


def _linked(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "dups.csv", duplicated_victims(60)))
    assert archive.links.find("persons").new > 10
    return archive


def test_a_rejected_pair_lowers_the_probability_of_pairs_alike_on_the_next_find(
    archive: Archive, tmp_path: Path,
) -> None:
    _linked(archive, tmp_path)
    queue = archive.links.queue()
    by_levels: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for c in queue:
        by_levels.setdefault(_levels(c.evidence), []).append(c.id)
    before = {c.id: c.probability for c in queue}
    # the least probable pattern of evidence that two queued pairs share: reject one of them
    pattern = min((k for k, v in by_levels.items() if len(v) >= 2),
                  key=lambda k: (before[by_levels[k][0]], k))
    rejected, *alike = by_levels[pattern]
    unrelated = [c.id for c in queue if not set(_levels(c.evidence)) & set(pattern)]
    assert unrelated
    archive.links.decide(rejected, "reject")
    run = archive.links.find("persons")
    assert run.tuning is not None and "0 accepted and 1 rejected" in run.tuning
    after = {c.id: c.probability for c in archive.links.queue()}
    assert rejected not in after
    for link in alike:
        assert after[link] < before[link], (link, before[link])
        # the evidence a reviewer reads moved with it (a new version of the link)
        assert [v["status"] for v in archive.records.history("link", link)] == [
            "pending", "pending"]
    # a pair that shares no level with the rejected one keeps its probability
    for link in unrelated:
        assert after[link] == before[link]
    # the reviewer changes their mind: accepted, the same pair raises them again
    archive.links.decide(rejected, "accept")
    run = archive.links.find("persons")
    assert run.tuning is not None and "1 accepted and 0 rejected" in run.tuning
    again = {c.id: c.probability for c in archive.links.queue()}
    assert all(again[link] > after[link] for link in alike)


def test_the_queue_is_in_the_order_of_the_latest_models_probability(
    archive: Archive, tmp_path: Path,
) -> None:
    _linked(archive, tmp_path)
    first = archive.links.queue()
    for c in first[:3]:
        archive.links.decide(c.id, "reject")
    archive.links.decide(first[3].id, "accept")
    archive.links.find("persons")
    queue = archive.links.queue()
    # most probable first, ties by link id (stable from run to run)
    assert [(-c.probability, c.id) for c in queue] == sorted(
        (-c.probability, c.id) for c in queue)
    assert queue == archive.links.queue()
    # the stored probability is what a model trained and corrected as `find` does scores now
    frame = archive.links.records_frame("persons")
    labels = archive.links._labels("person", set(frame["id"]))
    assert len(labels) == 4
    model = LinkageModel(PERSONS).fit(frame)
    tune(model, labels)
    correct(model, labels)
    now = model.score_pairs([(str(c.left_id), str(c.right_id)) for c in queue])
    probability = {tuple(sorted((int(a), int(b)))): p for a, b, p in zip(
        now["left_id"], now["right_id"], now["match_probability"], strict=True)}
    for c in queue:
        key = (min(c.left_id, c.right_id), max(c.left_id, c.right_id))
        assert abs(probability[key] - c.probability) <= 1e-6, c.id


def test_every_comparison_level_an_archive_shows_has_korean() -> None:
    from sillok.web.i18n import catalog

    korean = catalog("ko")
    for schema in (PERSONS, EVENTS):
        for comparison in schema.comparisons():
            spec = comparison.get_comparison("duckdb").as_dict()
            assert korean.get(spec["output_column_name"]), spec["output_column_name"]
            for level in spec["comparison_levels"]:
                label = level["label_for_charts"]
                assert korean.get(label), (schema.name, label)


def test_a_korean_links_page_shows_no_english_level(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    try:
        rows, _truth = duplicated_events()
        archive.ingest.run(write_csv(tmp_path / "events.csv", rows))
        assert archive.links.find("events").new > 10
        add_users(archive)
    finally:
        archive.close()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        client = login(app, "reviewer")
        english = {
            level["label_for_charts"]
            for comparison in EVENTS.comparisons()
            for level in comparison.get_comparison("duckdb").as_dict()["comparison_levels"]
        }
        client.cookies.set("sillok_lang", "ko")
        page = client.get("/links", params={"kind": "events"})
        assert page.status_code == 200
        tables = [html.unescape(t) for t in EVIDENCE.findall(page.text)]
        assert len(tables) >= 10
        cells = {c.strip() for t in tables for c in re.findall(r"<td>([^<]*)</td>", t)}
        assert cells & {"같은 해, 한쪽 날짜가 더 모호함", "같은 제목", "같은 행위 유형",
                        "같은 시·군", "같은 날", "비슷한 제목"}
        assert not cells & english, cells & english
        assert not {"victims", "acts", "title"} & cells
        # the English page shows the same levels in English
        client.cookies.set("sillok_lang", "en")
        shown = client.get("/links", params={"kind": "events"}).text
        assert any(label in shown for label in english)
    finally:
        app.state.web.close()
