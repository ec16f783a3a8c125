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
    """A page is the start of the whole list of matches, in the same order (fewer persons
    than are expanded here, so the page's choice of persons is every one)."""
    everything = generated.searcher.match("Kim", everything=True).found
    page = generated.searcher.match("Kim", limit=3).found
    assert len(page) == 3
    assert [h for h in page if h[0] == "act"] == [h for h in everything if h[0] == "act"][:3]


def _weighted_rows() -> list[dict[str, str]]:
    """Twelve Kims named by 1 to 12 acts (the most documented last in the file, so with the
    highest ids), three Paks, and an act whose description names a Kim."""
    rows = []
    for n in range(1, 13):
        for i in range(n):
            rows.append(row(source_ref=f"S-{n}-{i}", act_type="torture", victim_ref=f"V-{n}",
                            victim_name=f"Kim Chol-{n:02d}", sharing="public"))
    for n in range(3):
        rows.append(row(source_ref=f"S-P{n}", act_type="torture", victim_ref=f"V-P{n}",
                        victim_name=f"Pak Son-{n}", sharing="public"))
    rows.append(row(source_ref="S-D", act_type="torture", victim_ref="V-P0",
                    victim_name="Pak Son-0", description="questioned by Kim", sharing="public"))
    return rows


@pytest.fixture
def weighted(archive: Archive, tmp_path: Path) -> Archive:
    # in two files, so that some Kims' weights move in the second import
    rows = _weighted_rows()
    archive.ingest.run(write_csv(tmp_path / "a.csv", rows[::2]))
    archive.ingest.run(write_csv(tmp_path / "b.csv", rows[1::2]))
    return archive


def _acts_per_victim(archive: Archive, act_ids: list[int]) -> list[str]:
    return [str(archive.records.show("act", a).get("victim", "")) for a in act_ids]


def test_a_surname_lists_the_most_documented_persons_first(weighted: Archive) -> None:
    """Relevance of a surname: the acts of the persons most acts name come first (not the
    oldest persons'), then those the surname matches only by a word; persons likewise."""
    everything = weighted.searcher.match("Kim", everything=True).found
    acts = [rid for kind, rid in everything if kind == "act"]
    victims = _acts_per_victim(weighted, acts)
    assert len(acts) == sum(range(1, 13)) + 1  # every Kim's act, and the one naming a Kim
    assert victims[:12] == ["Kim Chol-12"] * 12
    assert victims[12:23] == ["Kim Chol-11"] * 11
    assert victims[-2:] == ["Kim Chol-01", "Pak Son-0"]  # the word alone comes last
    persons = [h.title for h in weighted.searcher.search("Kim", limit=200) if h.kind == "person"]
    assert persons == [f"Kim Chol-{n:02d}" for n in range(12, 0, -1)]


def test_a_page_of_a_surname_holds_the_most_documented_persons(
    weighted: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more persons of a surname than a page expands, the page's persons are the most
    documented (read from the index by their weight tokens), not the first by id; and the
    whole list still holds every act of every person of the surname."""
    monkeypatch.setattr("sillok.records.matching.PERSONS_PER_WORD", 2)
    page = weighted.searcher.match("Kim", limit=5).found
    victims = _acts_per_victim(weighted, [rid for kind, rid in page if kind == "act"])
    assert victims == ["Kim Chol-12"] * 5
    everything = weighted.searcher.match("Kim", everything=True).found
    assert len([h for h in everything if h[0] == "act"]) == sum(range(1, 13)) + 1
    # a page as long as the archive: the two most documented persons' acts first
    page = weighted.searcher.match("Kim", limit=100).found
    victims = _acts_per_victim(weighted, [rid for kind, rid in page if kind == "act"])
    assert victims[:23] == ["Kim Chol-12"] * 12 + ["Kim Chol-11"] * 11


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


def _buckets(archive: Archive) -> dict[int, int]:
    """Person id -> the weight bucket their search document holds."""
    from sillok.records.index import WEIGHT_BUCKETS, weight_token
    from sillok.store import search as index_store
    from sillok.store.queries import ActFilter

    store = archive.vault.store
    found: dict[int, int] = {}
    with store.reading() as conn:
        for bucket in range(WEIGHT_BUCKETS):
            for _kind, rid in index_store.search_documents(
                conn, store.dialect, [[(weight_token(bucket), False)]], ["person"],
                ActFilter(), None,
            ):
                assert rid not in found  # one bucket per person
                found[rid] = bucket
    return found


def _expected_buckets(archive: Archive) -> dict[int, int]:
    """Person id -> the bucket of how many acts name them, for the persons acts name."""
    from sillok.records.index import weight_bucket
    from sillok.store import search as index_store
    from sillok.store.queries import ActFilter

    store = archive.vault.store
    with store.reading() as conn:
        victims = index_store.search_documents(
            conn, store.dialect, [[("kim", False), ("pak", False)]], ["person"], ActFilter(), None
        )
        counts = index_store.acts_per_victim(conn, [rid for _kind, rid in victims])
    assert sorted(counts.values()) == [1, 1, 1, 2, *range(2, 13)]
    return {rid: b for rid, n in counts.items() if (b := weight_bucket(n)) is not None}


def test_each_person_document_holds_its_weight_after_later_imports(weighted: Archive) -> None:
    """The weight token of every person is their number of acts' bucket, also for persons
    whose bucket the second import moved without touching their record (the import rewrote
    their documents), and an edit of a person keeps it."""
    expected = _expected_buckets(weighted)
    assert _buckets(weighted) == expected
    # an edit of a person's names writes their document anew, weight included
    twelve = next(h.id for h in weighted.searcher.search("Kim", limit=200)
                  if h.kind == "person" and h.title == "Kim Chol-12")
    record = weighted.records.show("person", twelve)
    weighted.editor.edit("person", twelve, {"names": ["Kim Chol-XII"]}, int(record["version"]))
    assert _buckets(weighted) == expected
    persons = [h.title for h in weighted.searcher.search("Kim", limit=200) if h.kind == "person"]
    assert persons[0] == "Kim Chol-XII"


def test_an_archive_indexed_before_weights_gets_them_on_opening(
    weighted: Archive, tmp_path: Path
) -> None:
    """Migration 0013 writes the weight tokens into the documents of an archive indexed
    without them (simulated: its person documents written again without, its revision set
    back to 0012), and leaves a protected person out of the index."""
    from sqlalchemy import text

    from sillok.records.index import person_document
    from sillok.store.dialects import doc_id
    from tests.conftest import PASSPHRASE

    expected = _expected_buckets(weighted)
    protected = min(expected)  # a person protected since: no document, before or after
    weighted.protection.protect(protected)
    del expected[protected]
    store = weighted.vault.store
    names = {h.id: [h.title] for h in weighted.searcher.titled([("person", p) for p in expected])}
    with store.engine.begin() as conn:
        docs = [(doc_id("person", pid), person_document(n)) for pid, n in names.items()]
        store.dialect.unindex_documents(conn, [did for did, _doc in docs])
        store.dialect.index_documents(conn, docs)
        conn.execute(text("UPDATE alembic_version SET version_num = '0012'"))
    assert _buckets(weighted) == {}
    folder = weighted.vault.folder
    weighted.close()
    reopened = Archive.open(folder, PASSPHRASE)
    try:
        assert _buckets(reopened) == expected
        assert reopened.searcher.search("Kim")[0].title.endswith("Kim Chol-12")
    finally:
        reopened.close()


def test_postgresql_reads_a_frequent_words_first_matches_in_order(
    pg_url: str, tmp_path: Path
) -> None:
    """A frequent word's first matches come from the first documents in order, without the
    GIN index's bitmap of all of them; a rare word falls back to the index; both give the
    lowest ids that match."""
    from sqlalchemy import event, text

    from sillok.store import search as index_store
    from sillok.store.dialects import doc_id
    from sillok.store.queries import ActFilter
    from tests.conftest import FAST, PASSPHRASE

    archive = Archive.create(tmp_path / "archive", PASSPHRASE, database=pg_url, settings=FAST)
    store = archive.vault.store
    docs = [(doc_id("act", i), "torture" if i % 3 == 0 else "detention") for i in range(1, 9000)]
    docs += [(doc_id("act", 8500), "rare torture"), (doc_id("act", 8700), "rare")]
    seen: list[str] = []
    try:
        with store.engine.connect() as conn, conn.begin() as transaction:
            store.dialect.index_documents(conn, docs)
            event.listen(conn, "before_cursor_execute",
                         lambda *args: seen.append(args[2]))
            frequent = index_store.search_documents(
                conn, store.dialect, [[("torture", False)]], ["act"], ActFilter(), 50
            )
            used_for_frequent = list(seen)
            seen.clear()
            rare = index_store.search_documents(
                conn, store.dialect, [[("rare", False)]], ["act"], ActFilter(), 50
            )
            used_for_rare = list(seen)
            every = conn.execute(text(
                "SELECT count(*) FROM search_docs WHERE tokens @@ to_tsquery('simple', 'torture')"
            )).scalar_one()
            transaction.rollback()
    finally:
        archive.close()
    assert [rid for _kind, rid in frequent] == [i for i in range(3, 151, 3)]
    assert len(used_for_frequent) == 1 and "ORDER BY doc" in used_for_frequent[0]
    assert sorted(rid for _kind, rid in rare) == [8500, 8700]
    assert len(used_for_rare) == 2  # the first documents, then the index
    assert every == 2999  # so the GIN index alone would read all of them
