"""Event linkage on an archive: the same event reported by several testimonies, found, reviewed,
and reviewed decisions used to evaluate and tune the next run."""

from __future__ import annotations

import json
import random
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.linkage.events import EVENTS
from sillok.linkage.labels import MIN_TUNING_MATCHES, m_values, tune
from sillok.linkage.model import DEFAULT_THRESHOLD, LinkageModel
from sillok.store import rows as store_rows
from tests.conftest import PASSPHRASE
from tests.datasets import row, write_csv

#: (Korean, English, province) of the towns the invented events happen in
TOWNS = (
    ("혜산", "Hyesan", "양강도"), ("회령", "Hoeryong", "함경북도"),
    ("청진", "Chongjin", "함경북도"), ("함흥", "Hamhung", "함경남도"),
    ("신의주", "Sinuiju", "평안북도"), ("만포", "Manpo", "자강도"),
    ("무산군", "Musan County", "함경북도"), ("개천", "Kaechon", "평안남도"),
)
#: (main act type, other act types, Korean title, English title)
KINDS = (
    ("public_execution", (), "공개처형", "Public execution in {}"),
    ("arbitrary_detention", ("torture",), "일제 검거", "Mass arrests in {}"),
    ("forced_repatriation", ("arbitrary_detention",), "강제북송", "Forced return to {}"),
    ("public_trial", (), "공개재판", "Public trial in {}"),
)
SURNAMES = "김이박최정강조윤장임"
SYLLABLES = "영철수미순호성희진옥남복"


Rows = list[dict[str, str]]


def duplicated_events(events: int = 24, seed: int = 5) -> tuple[Rows, dict[str, int]]:
    """Invented events, each reported by one to three testimonies as its own event record.

    The first report gives the day and the town, titled in Korean; the second the month and
    the town in English, titled in English; the third only the year and the province, titled
    in Korean with the year. Some first and second reports share a victim record. Two more
    events, public executions in Hyesan months apart in one year, are distinct.

    Returns:
        the flat act rows, and each event_ref's true event number.
    """
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    truth: dict[str, int] = {}
    source = 0

    def report(number: int, title: str, date: str, place: str, acts: tuple[str, ...],
               shared_victim: bool) -> None:
        nonlocal source
        source += 1
        ref = f"EV-{number:02d}-{source:03d}"
        truth[ref] = number
        for v in range(rng.randint(1, 2)):
            name = rng.choice(SURNAMES) + rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
            for act in acts:
                rows.append(row(
                    source_ref=f"T-{source:03d}", event_ref=ref, event_title=title,
                    act_type=act, act_date=date, place=place, victim_name_hangul=name,
                    victim_ref=f"V-{number:02d}" if shared_victim and v == 0 else "",
                ))

    for number in range(events):
        town = TOWNS[number % len(TOWNS)]
        kind = KINDS[(number // len(TOWNS) + number) % len(KINDS)]
        year, month, day = rng.randint(1996, 2019), rng.randint(1, 12), rng.randint(1, 28)
        acts = (kind[0], *kind[1])
        shared = number % 2 == 0
        for r in range((1, 2, 3)[number % 3]):
            title = (f"{town[0]} {kind[2]}", kind[3].format(town[1]),
                     f"{town[0]} {kind[2]} ({year})")[r]
            date = (f"{year}-{month:02d}-{day:02d}", f"{year}년 {month}월", f"{year}")[r]
            report(number, title, date, town[r], acts, shared and r < 2)
    report(events, "혜산 공개처형", "2004-03-02", "혜산", ("public_execution",), False)
    report(events + 1, "혜산 공개처형", "2004-09-20", "혜산", ("public_execution",), False)
    return rows, truth


def true_pairs(truth: dict[str, int]) -> set[tuple[str, str]]:
    """Every two event_refs of one true event."""
    by_event: dict[int, list[str]] = {}
    for ref, number in truth.items():
        by_event.setdefault(number, []).append(ref)
    return {p for refs in by_event.values() for p in combinations(sorted(refs), 2)}


def event_refs(archive: Archive) -> dict[int, str]:
    """Event id -> event_ref."""
    refs: dict[int, str] = {}
    event_id = 1
    while True:
        try:
            refs[event_id] = archive.records.show("event", event_id)["ref"]
        except Exception:  # noqa: BLE001 - ids are dense; the first missing one ends them
            return refs
        event_id += 1


@pytest.fixture
def events_archive(archive: Archive, tmp_path: Path) -> tuple[Archive, dict[str, int]]:
    rows, truth = duplicated_events()
    archive.ingest.run(write_csv(tmp_path / "events.csv", rows))
    return archive, truth


def queued_pairs(archive: Archive, status: str = "pending") -> dict[tuple[str, str], float]:
    refs = event_refs(archive)
    return {
        tuple(sorted((refs[c.left_id], refs[c.right_id]))): c.probability  # type: ignore[misc]
        for c in archive.links.queue(status, kind="events")
    }


def test_find_events_queues_the_duplicates_only(
    events_archive: tuple[Archive, dict[str, int]],
) -> None:
    archive, truth = events_archive
    run = archive.links.find("events")
    assert run.records == len(truth) and run.evaluation is None and run.tuning is None
    queued = queued_pairs(archive)
    expected = true_pairs(truth)
    assert len(expected) == 32
    # every report of an event meets every other, the vague third reports included, and no
    # two reports of different events are linked (they may be queued below the threshold)
    assert {p for p, prob in queued.items() if prob >= DEFAULT_THRESHOLD} == expected
    assert all(queued[p] >= 0.8 for p in expected)
    candidate = archive.links.queue(kind="events")[0]
    assert candidate.kind == "events" and candidate.left.startswith("Event ")
    assert {e["field"] for e in candidate.evidence} == {"date", "place", "title", "acts", "victims"}
    # evidence holds levels and weights, never the records' values
    assert "혜산" not in json.dumps([c.evidence for c in archive.links.queue(kind="events")],
                                    ensure_ascii=False)
    assert archive.links.queue(kind="persons") == []  # the kinds do not mix
    assert archive.links.find("events").new == 0


def test_accept_cluster_and_undo_events(events_archive: tuple[Archive, dict[str, int]]) -> None:
    archive, _truth = events_archive
    archive.links.find("events")
    first = archive.links.queue(kind="events")[0]
    assert archive.links.decide(first.id, "accept") == "accepted"
    clusters = archive.links.clusters("events")
    assert clusters[first.left_id] == clusters[first.right_id]
    assert archive.links.clusters("persons") == {}
    assert archive.records.history("event", first.left_id)[-1]["version"] == 1
    assert archive.links.decide(first.id, "undo") == "pending"
    assert archive.links.clusters("events") == {}
    assert [v["status"] for v in archive.records.history("link", first.id)] == [
        "pending", "accepted", "pending"]


def test_confidential_events_and_protected_victims_are_left_out(
    events_archive: tuple[Archive, dict[str, int]],
) -> None:
    archive, truth = events_archive
    refs = event_refs(archive)
    hidden = next(i for i, ref in refs.items() if ref.startswith("EV-01-"))
    with archive.store.transaction() as conn:
        event = store_rows.get(conn, "event", hidden)
        assert event is not None
        store_rows.update_record(conn, "event", event, {"sharing": "confidential"}, "test")
    frame = archive.links.records_frame("events")
    assert str(hidden) not in set(frame["id"]) and len(frame) == len(truth) - 1
    archive.links.find("events")
    queue = archive.links.queue(kind="events")
    assert queue and all(hidden not in (c.left_id, c.right_id) for c in queue)


def review(archive: Archive, truth: dict[str, int], accept: int, reject: int) -> None:
    """Accept ``accept`` queued true pairs and reject ``reject`` others (a reviewer's view)."""
    refs = event_refs(archive)
    queue = archive.links.queue(kind="events")
    assert len(queue) >= accept + reject
    for candidate in queue[:accept]:
        assert truth[refs[candidate.left_id]] == truth[refs[candidate.right_id]]
        archive.links.decide(candidate.id, "accept")
    for candidate in queue[accept:accept + reject]:
        archive.links.decide(candidate.id, "reject")


def test_reviewed_decisions_evaluate_and_tune_the_next_run(
    events_archive: tuple[Archive, dict[str, int]],
) -> None:
    archive, truth = events_archive
    archive.links.find("events")
    review(archive, truth, accept=MIN_TUNING_MATCHES, reject=2)
    run = archive.links.find("events")
    assert run.evaluation is not None
    # the model links all twelve reviewed pairs: the two rejected are its false positives
    assert run.evaluation["accepted"] == MIN_TUNING_MATCHES and run.evaluation["rejected"] == 2
    assert run.evaluation["true_positives"] == MIN_TUNING_MATCHES
    assert run.evaluation["false_positives"] == 2 and run.evaluation["false_negatives"] == 0
    assert run.evaluation["precision"] == round(10 / 12, 4) and run.evaluation["recall"] == 1.0
    assert run.tuning == (f"m values re-estimated from {MIN_TUNING_MATCHES} accepted pairs; "
                          f"weights corrected from {MIN_TUNING_MATCHES} accepted and 2 rejected "
                          "pairs")
    assert run.new == 0


def test_tuning_needs_enough_accepted_pairs(
    events_archive: tuple[Archive, dict[str, int]],
) -> None:
    archive, truth = events_archive
    frame = archive.links.records_frame("events")
    ids = {ref: i for i, ref in event_refs(archive).items()}
    pairs = sorted(true_pairs(truth))
    labels = [(str(ids[a]), str(ids[b]), True) for a, b in pairs]
    model = LinkageModel(EVENTS).fit(frame)
    before = m_values(model)
    skipped = tune(model, labels[: MIN_TUNING_MATCHES - 1])
    assert not skipped.applied and skipped.matches == MIN_TUNING_MATCHES - 1
    assert m_values(model) == before
    done = tune(model, labels)
    assert done.applied and done.matches == len(pairs)
    after = m_values(model)
    assert after != before
    # the labelled pairs all name the same act types: that level gains, "in common" loses
    same = ("acts", "same act types")
    assert (after[same] or 0.0) >= (before[same] or 0.0)
    # fixed levels keep their m values (renormalised with the rest)
    far = ("date", "dates far apart")
    assert after[far] == pytest.approx(before[far], rel=0.05)


def test_link_and_review_events_cli(events_archive: tuple[Archive, dict[str, int]]) -> None:
    from sillok.cli import app

    archive, truth = events_archive
    folder = archive.folder
    archive.close()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    result = runner.invoke(app, ["link", str(folder), "events"], env=env)
    assert result.exit_code == 0, result.output
    assert f"Compared {len(truth)} events: " in result.stdout and " new in the" in result.stdout
    result = runner.invoke(app, ["review", str(folder), "--kind", "events", "--json"], env=env)
    assert result.exit_code == 0
    queue = json.loads(result.stdout)
    assert len(queue) >= 32 and {c["kind"] for c in queue} == {"events"}
    result = runner.invoke(app, ["review", str(folder), "--kind", "persons"], env=env)
    assert result.exit_code == 0 and "No pending links." in result.stdout
    result = runner.invoke(app, ["review", str(folder), "--kind", "places"], env=env)
    assert result.exit_code == 2 and "unknown link kind 'places'" in result.stderr
    ids = [str(c["id"]) for c in queue[:MIN_TUNING_MATCHES]]
    args = [a for i in ids for a in ("--accept", i)] + ["--reject", str(queue[10]["id"])]
    result = runner.invoke(app, ["review", str(folder), "--kind", "events", *args], env=env)
    assert result.exit_code == 0 and result.stdout.count("accepted") == MIN_TUNING_MATCHES
    result = runner.invoke(app, ["link", str(folder), "events"], env=env)
    assert result.exit_code == 0, result.output
    assert ("Against 11 reviewed links (10 accepted, 1 rejected) at p >= "
            f"{DEFAULT_THRESHOLD}:") in result.stdout
    assert "m values re-estimated from 10 accepted pairs" in result.stdout
