"""Statements: write, translate, sign, relate, publish, list and page through (both stores)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sillok.archive import Archive
from sillok.errors import InvalidInput, NotFound
from sillok.records.statements import Statements
from tests.datasets import YODOK, write_csv


@pytest.fixture
def statements(archive: Archive) -> Statements:
    """The statements of an empty archive."""
    return archive.statements


def test_write_and_read_back(statements: Statements) -> None:
    written = statements.write(
        "요덕 수용소 해체에 관한 공동성명", "본문입니다.", "ko", date="2020년 3월", actor="coord"
    )
    assert written.published is False
    assert written.date == "2020-03"
    assert written.updated_by == "coord"
    again = statements.get(written.id)
    assert again == written


@pytest.mark.parametrize(
    ("field", "kwargs", "named"),
    [
        ("title", {"title": "  "}, "title"),
        ("language", {"language": "xx"}, "'xx'"),
        ("kind", {"kind": "memo"}, "'memo'"),
        ("date", {"date": "the thirteenth month"}, "thirteenth"),
    ],
)
def test_bad_values_are_named(
    sqlcipher_archive: Archive, field: str, kwargs: dict[str, str], named: str
) -> None:
    statements = sqlcipher_archive.statements
    values: dict[str, Any] = {"title": "T", "body": "B", "language": "en", **kwargs}
    with pytest.raises(InvalidInput) as caught:
        statements.write(**values)
    assert field in str(caught.value)
    assert named in str(caught.value)


def test_only_published_are_public_and_neighbours_follow_dates(statements: Statements) -> None:
    old = statements.write("Old", "b", "en", date="2019-05-01")
    middle = statements.write("Middle", "b", "en", date="2020-01")
    draft = statements.write("Draft", "b", "en", date="2020-06")
    new = statements.write("New", "b", "en", date="2021")
    korean = statements.write("한국어", "b", "ko", date="2020-02")
    for item in (old, middle, new, korean):
        statements.publish(item.id)
    page = statements.page(language="en")
    assert [s.title for s in page.items] == ["New", "Middle", "Old"]
    assert page.total == 3
    with pytest.raises(NotFound):
        statements.get(draft.id, published_only=True)
    around = statements.neighbours(middle.id)
    assert around.older is not None and around.older.id == old.id
    assert around.newer is not None and around.newer.id == new.id
    ends = statements.neighbours(old.id)
    assert ends.older is None and ends.newer is not None and ends.newer.id == middle.id
    with pytest.raises(NotFound):
        statements.neighbours(draft.id)
    statements.withdraw(middle.id)
    assert statements.neighbours(old.id).newer.id == new.id  # type: ignore[union-attr]
    staff = statements.page(published_only=False, language="en")
    assert staff.total == 4


def test_undated_items_come_last(statements: Statements) -> None:
    dated = statements.publish(statements.write("Dated", "b", "en", date="2001").id)
    undated = statements.publish(statements.write("Undated", "b", "en").id)
    assert [s.title for s in statements.page().items] == ["Dated", "Undated"]
    assert statements.neighbours(undated.id).newer.id == dated.id  # type: ignore[union-attr]
    assert statements.neighbours(dated.id).older.id == undated.id  # type: ignore[union-attr]


def test_signatories_events_and_translation(archive: Archive, statements: Statements) -> None:
    archive.ingest.run(write_csv(archive.folder / "y.csv", YODOK))
    hit = next(h for h in archive.searcher.search("Hyesan") if h.kind == "event")
    original = statements.write("Joint statement", "We call on...", "en", date="2021-12-10")
    signed = statements.set_signatories(
        original.id, ["Citizens' Alliance for Test Rights", "북한인권테스트모임", ""]
    )
    assert [s.name for s in signed.signatories] == [
        "Citizens' Alliance for Test Rights",
        "북한인권테스트모임",
    ]
    assert all(s.unverified for s in signed.signatories)
    # the same names again resolve to the same organizations, not new ones
    again = statements.set_signatories(original.id, ["citizens' alliance for test rights"])
    assert again.signatories[0].id == signed.signatories[0].id
    related = statements.set_events(original.id, [hit.id])
    assert [e.id for e in related.events] == [hit.id]
    with pytest.raises(InvalidInput, match="999999"):
        statements.set_events(original.id, [999999])
    korean = statements.translate(original.id, "ko", "공동성명", "우리는...")
    assert korean.translation_of == original.id
    assert korean.date == original.date
    assert [e.id for e in korean.events] == [hit.id]
    assert [s.id for s in korean.signatories] == [again.signatories[0].id]
    with pytest.raises(InvalidInput, match="already has"):
        statements.translate(korean.id, "en", "again", "again")
    assert {s.language for s in statements.translations(korean.id)} == {"en", "ko"}
    statements.publish(original.id)
    assert statements.neighbours(original.id).translations == []
    statements.publish(korean.id)
    assert [t.id for t in statements.neighbours(original.id).translations] == [korean.id]


def test_edits_keep_history(statements: Statements) -> None:
    first = statements.write("Title one", "body", "en")
    statements.edit(first.id, title="Title two", actor="editor")
    statements.publish(first.id)
    versions = statements.history(first.id)
    assert [v["title"] for v in versions] == ["Title one", "Title two", "Title two"]
    assert [v["published"] for v in versions] == [False, False, True]
    assert versions[1]["updated_by"] == "editor"
    with pytest.raises(NotFound):
        statements.edit(12345, title="x")


def test_paging(statements: Statements) -> None:
    for n in range(7):
        statements.publish(statements.write(f"N{n}", "b", "en", date=f"200{n}").id)
    first = statements.page(limit=3)
    assert [s.title for s in first.items] == ["N6", "N5", "N4"] and first.has_next
    last = statements.page(offset=6, limit=3)
    assert [s.title for s in last.items] == ["N0"] and not last.has_next


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.text(min_size=1, max_size=80).filter(lambda t: t.strip()),
    body=st.text(min_size=1, max_size=400).filter(lambda t: t.strip()),
)
def test_any_text_round_trips(sqlcipher_archive: Archive, title: str, body: str) -> None:
    statements = sqlcipher_archive.statements
    written = statements.write(title, body, "ko")
    assert statements.get(written.id).title == title.strip()
    assert statements.get(written.id).body == body.strip()
