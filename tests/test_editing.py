"""Editing records through the library (``archive.editor``), on both stores: a new version,
the history and the log follow, stale versions and bad values are refused and change nothing,
and what a role may not read it can neither learn nor overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.errors import InvalidInput, NotFound
from sillok.records.editing import EditRefused, StaleVersion
from sillok.security.policy import PROTECTED
from tests.conftest import FAST
from tests.datasets import YODOK, row, write_csv


@pytest.fixture
def filled(archive: Archive, tmp_path: Path) -> Archive:
    rows = [*YODOK, row(source_ref="S-003", act_type="torture", informant="Witness Beta",
                        victim_name="Secret Person", victim_name_hangul="비밀인",
                        protected="victim", act_date="2011")]
    archive.ingest.run(write_csv(tmp_path / "yodok.csv", rows))
    return archive


def _id(archive: Archive, kind: str, ref: str) -> int:
    return archive.records.id_of(kind, ref)


def _act(archive: Archive, description: str) -> int:
    acts = [a for ref in ("S-001", "S-002", "S-003")
            for a in archive.records.show("source", _id(archive, "source", ref))["acts"]]
    return next(a for a in acts
                if archive.records.show("act", a, reveal=True)["description"] == description)


def _version(archive: Archive, kind: str, rid: int) -> int:
    return int(archive.records.show(kind, rid)["version"])


def test_every_kind_edits_into_a_new_version(filled: Archive) -> None:
    act = _act(filled, "요덕수용소에 수감되었다")
    event = _id(filled, "event", "E-001")
    source = _id(filled, "source", "S-002")
    person = filled.records.show("act", _act(filled, "공개처형을 목격했다고 증언"))["victim_id"]
    place = filled.places.resolve("Yodok").id  # type: ignore[union-attr]
    organization = filled.organizations.resolve("보위부").id  # type: ignore[union-attr]
    edits = {
        ("act", act): {"act_type": "고문", "date": "2009년 봄", "place": "혜산",
                       "description": "다시 쓴 설명"},
        ("event", event): {"title": "요덕 구금 (고침)", "date": "2009"},
        ("source", source): {"language": "ko", "title": "Interview, revised", "date": "2019"},
        ("person", person): {"names": "Ri Chol-su\n리철수", "status": "dead", "birth": "1972"},
        ("place", place): {"aliases": "Yodeok; 요덕군", "latitude": "39.75"},
        ("organization", organization): {"name_en": "Ministry of State Security (edited)"},
    }
    for (kind, rid), changes in edits.items():
        before = _version(filled, kind, rid)
        edited = filled.editor.edit(kind, rid, changes, before)
        assert edited.version == before + 1, kind
        assert set(edited.changed) == set(changes), kind
        history = filled.records.history(kind, rid)
        assert [v["version"] for v in history][-2:] == [before, before + 1]
        assert history[-1]["updated_by"] == filled.user.name
    shown = filled.records.show("act", act)
    assert shown["act_type"] == "torture" and shown["date_edtf"] == "2009-21"
    assert "Hyesan" in shown["place"] and shown["description"] == "다시 쓴 설명"
    assert filled.records.show("event", event)["title"] == "요덕 구금 (고침)"
    names = [n["name"] for n in filled.records.show("person", person)["names"]]
    assert names == ["Ri Chol-su", "리철수"]
    assert filled.organizations.get(organization).name_en.endswith("(edited)")  # type: ignore
    assert filled.places.resolve("Yodeok").id == place  # type: ignore[union-attr]
    # the search index follows: the new words find the records, the old ones no more
    assert ("act", act) in {(h.kind, h.id) for h in filled.searcher.search("다시")}
    assert ("person", person) in {(h.kind, h.id) for h in filled.searcher.search("리철수")}
    report = filled.verification.run()
    assert report.ok, report.first_problem


def test_nothing_changed_writes_nothing(filled: Archive) -> None:
    event = _id(filled, "event", "E-002")
    form = filled.editor.form("event", event)
    edited = filled.editor.edit("event", event, form.values, form.version)
    assert edited.changed == () and edited.version == form.version


def test_stale_version_is_refused_and_nothing_changes(filled: Archive) -> None:
    event = _id(filled, "event", "E-001")
    filled.editor.edit("event", event, {"title": "first"}, 1)
    with pytest.raises(StaleVersion, match="changed by someone else since you opened it"):
        filled.editor.edit("event", event, {"title": "second"}, 1)
    assert filled.records.show("event", event)["title"] == "first"
    assert len(filled.records.history("event", event)) == 2


@pytest.mark.parametrize(
    ("kind", "ref", "changes", "field", "typed"),
    [
        ("event", "E-001", {"title": "ok", "date": "the thirteenth of Smarch"}, "date",
         "Smarch"),
        ("event", "E-001", {"title": "ok", "place": "Atlantis"}, "place", "Atlantis"),
        ("event", "E-001", {"title": "ok", "sharing": "secret"}, "sharing", "secret"),
        ("source", "S-001", {"source_type": "rumour"}, "source_type", "rumour"),
        ("event", "E-001", {"colour": "red"}, "colour", "not a field"),
    ],
)
def test_a_bad_value_names_its_field_and_nothing_changes(
    filled: Archive, kind: str, ref: str, changes: dict[str, str], field: str, typed: str
) -> None:
    rid = _id(filled, kind, ref)
    before = filled.records.history(kind, rid)
    with pytest.raises(EditRefused) as refused:
        filled.editor.edit(kind, rid, changes, _version(filled, kind, rid))
    assert field in refused.value.fields and typed in refused.value.fields[field]
    assert filled.records.history(kind, rid) == before


def test_an_act_needs_a_known_act_type(filled: Archive) -> None:
    act = _act(filled, "요덕수용소에 수감되었다")
    for typed, reason in (("", "required"), ("juggling", "juggling")):
        with pytest.raises(EditRefused) as refused:
            filled.editor.edit("act", act, {"act_type": typed}, 1)
        assert reason in refused.value.fields["act_type"]


def test_viewer_may_not_edit(filled: Archive) -> None:
    filled.users.add("jiwoo", "viewer", "viewer passphrase")
    event = _id(filled, "event", "E-002")
    with Archive.open(filled.folder, "viewer passphrase", settings=FAST, user="jiwoo") as viewer:
        with pytest.raises(InvalidInput, match="viewer role may not change records"):
            viewer.editor.edit("event", event, {"title": "mine now"}, 1)
        with pytest.raises(InvalidInput, match="viewer role may not"):
            viewer.editor.form("event", event)
    assert filled.records.show("event", event)["title"] == "Public execution in Hyesan"


def test_protected_names_are_withheld_unless_opened(filled: Archive) -> None:
    act = filled.records.show("source", _id(filled, "source", "S-003"))["acts"][0]
    person = filled.records.show("act", act, reveal=True)["victim_id"]
    opened_before = _openings(filled)
    form = filled.editor.form("person", person)
    assert "names" in form.withheld and "names" not in form.values
    assert "비밀인" not in repr(form.to_json()) and "Secret" not in repr(form.to_json())
    assert _openings(filled) == opened_before  # nothing was opened to show the form
    # saving the form as shown (names withheld, or sent back as [protected]) keeps them
    filled.editor.edit("person", person, {**form.values, "names": PROTECTED, "status": "dead"},
                       form.version)
    revealed = filled.editor.form("person", person, reveal=True)
    assert revealed.values["names"].splitlines() == ["Secret Person", "비밀인"]
    assert _openings(filled) > opened_before  # opening them is audited
    # a seal holder may rename; the names stay sealed and out of the index
    filled.editor.edit("person", person, {"names": "New Secret"}, revealed.version)
    assert filled.records.show("person", person)["names"] == [PROTECTED]
    assert not filled.searcher.search("New Secret")


def test_a_role_that_cannot_read_a_field_cannot_change_it(filled: Archive) -> None:
    from sillok.security import policy

    filled.users.add("minji", "documenter", "documenter passphrase")
    act = _act(filled, "Beaten during interrogation")  # a confidential act
    with Archive.open(filled.folder, "documenter passphrase", settings=FAST,
                      user="minji") as doc:
        # a stricter policy of the organisation's own: documenters read no narrative of a
        # confidential record
        saved = policy.READABLE["documenter"]
        policy.READABLE["documenter"] = {**saved, "confidential": frozenset({"general"})}
        try:
            form = doc.editor.form("act", act)
            assert "description" in form.withheld
            with pytest.raises(EditRefused) as refused:
                doc.editor.edit("act", act, {"description": "overwritten"}, form.version)
            assert refused.value.fields == {"description": "your role may not change this field"}
        finally:
            policy.READABLE["documenter"] = saved
    assert filled.records.show("act", act, reveal=True)["description"] == (
        "Beaten during interrogation")


def test_made_confidential_the_description_is_sealed(filled: Archive) -> None:
    act = _act(filled, "공개처형을 목격했다고 증언")
    assert filled.searcher.search("목격")
    filled.editor.edit("act", act, {"sharing": "기밀"}, 1)
    shown = filled.records.show("act", act)
    assert shown["sharing"] == "confidential" and shown["description"] == PROTECTED
    assert filled.searcher.search("목격") == []
    assert filled.verification.run().ok


def test_merge_and_undo_persons(filled: Archive) -> None:
    persons = sorted({filled.records.show("act", a)["victim_id"]
                      for a in (_act(filled, "요덕수용소에 수감되었다"),
                                _act(filled, "공개처형을 목격했다고 증언"))})
    link = filled.links.merge(persons[1], persons[0])
    assert filled.links.merged_with(persons[0]) == [(link, persons[1])]
    clusters = filled.links.clusters()
    assert clusters[persons[0]] == clusters[persons[1]]
    assert filled.links.unmerge(link) == "rejected"
    assert filled.links.merged_with(persons[0]) == [] and filled.links.clusters() == {}
    assert [v["status"] for v in filled.records.history("link", link)] == [
        "accepted", "rejected"]
    assert filled.links.merge(*persons) == link  # merged again: the same link, accepted anew
    with pytest.raises(InvalidInput, match="itself"):
        filled.links.merge(persons[0], persons[0])
    with pytest.raises(NotFound):
        filled.links.merge(persons[0], 999_999)


def _openings(archive: Archive) -> int:
    return sum(1 for e in archive.audit.events() if e["action"] == "open_sealed")
