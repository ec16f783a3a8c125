"""A surname or a given name alone: matched whole unless written with a star, and a one-word
query's acts found through its persons (the acts' victim index), on both stores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.records.index import query_groups
from tests.datasets import row, write_csv

#: surnames and their spellings as the generated names write them; "Kim" is the one searched
KIMS = ("Kim", "Gim", "김")
OTHERS = ("Ri", "Pak", "Choe", "리", "박")
GIVEN = ("Yong-chol", "Mi-ok", "Chol-su", "Son-hui", "Kwang-il")
GIVEN_HANGUL = ("영철", "미옥", "철수", "선희", "광일")


def _name(rnd: random.Random) -> str:
    surname = rnd.choice(KIMS + OTHERS)
    if surname in ("김", "리", "박"):
        return surname + rnd.choice(GIVEN_HANGUL)
    return f"{surname} {rnd.choice(GIVEN)}"


def _archive_rows(seed: int, count: int) -> list[dict[str, str]]:
    """Acts of generated victims (some with several acts), one victim named Kimberly Hart and
    one act whose description names 김책시 (Kimchaek), a word that begins with 김."""
    rnd = random.Random(seed)
    victims = [(f"V-{i}", _name(rnd)) for i in range(count // 2)]
    rows = []
    for i in range(count):
        ref, name = rnd.choice(victims)
        rows.append(row(
            source_ref=f"S-{i}", act_type=rnd.choice(["torture", "arbitrary_detention"]),
            victim_ref=ref, victim_name=name, sharing="public",
        ))
    rows.append(row(source_ref="S-K1", act_type="torture", victim_ref="V-K1",
                    victim_name="Kimberly Hart", sharing="public"))
    rows.append(row(source_ref="S-K2", act_type="torture", victim_ref="V-K2",
                    victim_name="Pak Chol-su", description="김책시에서 조사를 받음",
                    sharing="public"))
    return rows


@pytest.fixture(params=[1, 2], ids=["seed1", "seed2"])
def generated(archive: Archive, tmp_path: Path, request: pytest.FixtureRequest) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "acts.csv", _archive_rows(request.param, 40)))
    return archive


def _victim_of_acts(archive: Archive, query: str, **filters: str) -> dict[int, str]:
    act_filter = archive.searcher.act_filter(**filters) if filters else None
    hits = archive.searcher.search(query, act_filter, limit=10_000)
    return {
        h.id: str(archive.records.show("act", h.id).get("victim", ""))
        for h in hits if h.kind == "act"
    }


def _all_acts(archive: Archive) -> dict[int, tuple[str, str]]:
    """Act id -> (victim's name, act type), read back from the archive."""
    found = {}
    for act_type in ("torture", "arbitrary_detention"):
        act_filter = archive.searcher.act_filter(act_type=act_type)
        for hit in archive.searcher.search("", act_filter, limit=10_000):
            found[hit.id] = (str(archive.records.show("act", hit.id).get("victim", "")), act_type)
    return found


def _is_kim(name: str) -> bool:
    return name.startswith(("Kim ", "Gim ", "김"))


def test_a_surname_alone_finds_the_acts_of_exactly_its_persons(generated: Archive) -> None:
    """Every act whose victim bears the surname, in any spelling, and no other: not
    Kimberly, not 김책시 in a description."""
    acts = _all_acts(generated)
    assert acts, "the generated archive has acts"
    kims = {i for i, (name, _type) in acts.items() if _is_kim(name)}
    assert kims, "the generated archive has Kims"
    for query in ("Kim", "김", "Gim"):
        assert set(_victim_of_acts(generated, query)) == kims, query
    tortured = {i for i in kims if acts[i][1] == "torture"}
    assert set(_victim_of_acts(generated, "Kim", act_type="torture")) == tortured


def test_a_star_makes_a_surname_a_prefix_again(generated: Archive) -> None:
    whole = _victim_of_acts(generated, "Kim")
    prefix = _victim_of_acts(generated, "Kim*")
    assert "Kimberly Hart" not in whole.values()
    assert set(prefix) > set(whole)
    assert {"Kimberly Hart", "Pak Chol-su"} <= set(prefix.values())  # 김책시 begins with 김
    assert "Pak Chol-su" in _victim_of_acts(generated, "김*").values()
    # the persons too: Kimberly is found by the prefix only
    people = {h.title for h in generated.searcher.search("Kim*") if h.kind == "person"}
    assert any("Kimberly" in title for title in people)
    people = {h.title for h in generated.searcher.search("Kim") if h.kind == "person"}
    assert not any("Kimberly" in title for title in people)


def test_a_given_name_alone_finds_its_persons_acts(generated: Archive) -> None:
    acts = _all_acts(generated)
    named = {i for i, (name, _type) in acts.items() if "Yong-chol" in name or "영철" in name}
    assert set(_victim_of_acts(generated, "Yong-chol")) == named
    assert set(_victim_of_acts(generated, "영철")) == named


def test_a_page_of_a_surname_is_the_first_of_its_matches(generated: Archive) -> None:
    """A limit is applied in the store to the merged matches (by words and by victim): a page
    is part of the whole, as long as asked."""
    everything = generated.searcher.match("Kim", everything=True).found
    page = generated.searcher.match("Kim", limit=3).found
    assert len(page) == 3
    assert set(page) <= set(everything)
    acts = sorted(rid for kind, rid in everything if kind == "act")
    assert sorted(rid for kind, rid in page if kind == "act") == acts[:3]


@pytest.mark.parametrize(
    ("query", "prefixes"),
    [
        ("Kim", set()),
        ("김", set()),
        ("Lee", set()),
        ("Kim*", {"kim", "김", "킴"}),
        ("김*", {"김"}),
        ("Kimberly", {"kimberly"}),
        ("Kim Yong", {"yong", "영", "용"}),  # a later word keeps its prefix
    ],
)
def test_which_words_are_prefixes(query: str, prefixes: set[str]) -> None:
    groups = query_groups(query)
    assert {t for group in groups for t, prefix in group if prefix and isinstance(t, str)} == (
        prefixes
    )



@pytest.mark.parametrize("kind", ["act", "event", "source", "person"])
def test_postgresql_matches_a_kind_in_its_own_index(
    pg_url: str, tmp_path: Path, kind: str
) -> None:
    """On PostgreSQL a kind's match is answered by that kind's partial GIN index (0012): with
    one index over all kinds, a search among acts for a surname took every person of that
    surname from the index and dropped them on the heap, one by one."""
    from sqlalchemy import text

    from sillok.store.dialects import doc_id
    from tests.conftest import FAST, PASSPHRASE

    archive = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=FAST)
    store = archive.vault.store
    # many persons named Kim and many acts, as in an archive (the planner reads a tiny
    # table through its primary key whatever the indexes), in a transaction rolled back
    docs = [(doc_id("person", i), "kim yong chol") for i in range(1, 20_001)]
    docs += [(doc_id(k, i), "torture hoeryong") for k in ("act", "event", "source")
             for i in range(1, 20_001)]
    try:
        with store.engine.connect() as conn, conn.begin() as transaction:
            store.dialect.index_documents(conn, docs)
            conn.exec_driver_sql("ANALYZE search_docs")
            sql, params = store.dialect.match(query_groups("Kim"), [kind])
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}"), params))
            indexes = {r[0] for r in conn.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'search_docs'"
            ))}
            transaction.rollback()
    finally:
        archive.close()
    assert f"ix_search_docs_tokens_{kind}" in plan, plan
    assert "ix_search_docs_tokens" not in indexes  # the index over all kinds is gone
    assert {f"ix_search_docs_tokens_{k}" for k in ("act", "event", "source", "person")} <= indexes
