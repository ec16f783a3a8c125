"""Record linkage on an archive: find candidate pairs, review them, undo, resolved identities."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.estimate.archive import NOT_LINKED, overlap_tables
from sillok.estimate.table import OverlapTable
from sillok.synthetic.persons import generate_persons, generate_reports
from tests.conftest import PASSPHRASE
from tests.datasets import row, write_csv


def duplicated_victims(persons: int = 120) -> list[dict[str, str]]:
    """Each synthetic person reported by several testimonies, spelt differently, no refs."""
    people = generate_persons(persons, seed=11)
    reports = generate_reports(people, reports_per_person=(2, 3), seed=11,
                               hard_negative_share=0.1)
    return [
        row(source_ref=f"{'AB'[n % 2]}-T{n:04d}", act_type="arbitrary_detention",
            act_date="2009", place="요덕", victim_name=r.name,
            victim_name_hangul=r.name_hangul or "", victim_birth=r.birth or "",
            victim_sex=r.sex or "", victim_origin=r.origin or "")
        for n, r in enumerate(reports)
    ]


@pytest.fixture
def linked(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "dups.csv", duplicated_victims()))
    run = archive.links.find("persons")
    assert run.records > 200 and run.new > 0
    return archive


def test_find_queues_pairs_with_evidence_once(linked: Archive) -> None:
    queue = linked.links.queue()
    assert queue and all(c.status == "pending" for c in queue)
    assert [c.probability for c in queue] == sorted((c.probability for c in queue), reverse=True)
    assert {"field", "level", "weight"} <= set(queue[0].evidence[0])
    assert any(e["field"] == "name" for e in queue[0].evidence)
    again = linked.links.find("persons")
    assert again.new == 0  # pairs already queued are not queued twice


def test_accept_undo_and_identities(linked: Archive) -> None:
    first = linked.links.queue()[0]
    assert linked.links.clusters() == {}
    assert linked.links.decide(first.id, "accept") == "accepted"
    clusters = linked.links.clusters()
    assert clusters[first.left_id] == clusters[first.right_id]
    history = linked.records.history("link", first.id)
    assert [v["status"] for v in history] == ["pending", "accepted"]
    # the persons themselves are untouched
    assert linked.records.history("person", first.left_id)[-1]["version"] == 1
    pending = len(linked.links.queue())
    assert linked.links.progress() == {"pending": pending, "accepted": 1, "rejected": 0}
    assert linked.links.decide(first.id, "undo") == "pending"
    assert linked.links.progress() == {"pending": pending + 1, "accepted": 0, "rejected": 0}
    assert linked.links.clusters() == {}
    assert [v["status"] for v in linked.records.history("link", first.id)] == [
        "pending", "accepted", "pending"]


def test_estimate_counts_resolved_identities(linked: Archive) -> None:
    before = overlap_tables(linked, "collection")
    assert isinstance(before, OverlapTable) and NOT_LINKED in before.notes
    for candidate in linked.links.queue()[:5]:
        linked.links.decide(candidate.id, "accept")
    after = overlap_tables(linked, "collection")
    assert isinstance(after, OverlapTable) and NOT_LINKED not in after.notes
    assert after.observed < before.observed


def test_review_cli(linked: Archive) -> None:
    from sillok.cli import app

    folder = linked.folder
    first = linked.links.queue()[0]
    linked.close()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    result = runner.invoke(app, ["review", str(folder), "--accept", str(first.id)], env=env)
    assert result.exit_code == 0 and "accepted" in result.stdout
    result = runner.invoke(app, ["review", str(folder), "--status", "accepted", "--json"], env=env)
    assert result.exit_code == 0 and f'"id": {first.id}' in result.stdout
    result = runner.invoke(app, ["review", str(folder), "--undo", "999999"], env=env)
    assert result.exit_code == 2 and "no link with id 999999" in result.stderr


def test_a_pair_that_other_accepted_links_already_join_is_flagged(linked: Archive) -> None:
    from sillok.cli import app

    queue = linked.links.queue()
    by_pair = {(c.left_id, c.right_id): c for c in queue}
    assert not any(c.cautions for c in queue)  # nothing accepted yet: nothing joined
    triangle = next(
        (ab, by_pair[(b, c)], by_pair[(a, c)])
        for ab in queue
        for (a, b) in [(ab.left_id, ab.right_id)]
        for c in {right for (left, right) in by_pair if left == b}
        if (a, c) in by_pair
    )
    linked.links.decide(triangle[0].id, "accept")
    linked.links.decide(triangle[1].id, "accept")
    third = next(c for c in linked.links.queue() if c.id == triangle[2].id)
    assert [c.code for c in third.cautions] == ["same identity"]
    assert [c["code"] for c in third.to_json()["cautions"]] == ["same identity"]
    folder = linked.folder
    linked.close()
    result = CliRunner().invoke(app, ["review", str(folder)],
                                env={"SILLOK_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0
    assert "other accepted links already make these two one identity" in result.stdout
