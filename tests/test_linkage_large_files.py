"""The blocking rules for large files: a shared name needs a near birth year or a province."""

from __future__ import annotations

import duckdb
import pandas as pd

from sillok.linkage.schema import PERSONS, count_candidate_pairs, prepare


def _records() -> pd.DataFrame:
    births = ["1950", "1951", "1952", "1953", None, "1950-03"]
    origins = [None, None, None, "KP-09", "KP-09", None]
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(len(births))],
            "name": ["Kim Young-soo"] * len(births),
            "name_hangul": [None] * len(births),
            "birth": births,
            "sex": ["M"] * len(births),
            "origin": origins,
        }
    )


def _pairs(prepared: pd.DataFrame, rules: list[str]) -> set[tuple[str, str]]:
    con = duckdb.connect()
    con.register("f", prepared)
    found = con.execute(
        "SELECT l.unique_id, r.unique_id FROM f AS l JOIN f AS r "
        f"ON l.unique_id < r.unique_id AND ({' OR '.join(f'({rule})' for rule in rules)})"
    ).fetchall()
    con.close()
    return {(str(a), str(b)) for a, b in found}


def test_a_shared_name_is_a_candidate_with_birth_years_one_apart_or_the_same_province() -> None:
    prepared = prepare(PERSONS, _records())
    found = _pairs(prepared, PERSONS.blocking(large=True))
    # years 1950, 1951, 1952, 1953, none, 1950; r3 and r4 share a province
    assert found == {
        ("r0", "r1"),
        ("r1", "r2"),
        ("r2", "r3"),
        ("r0", "r5"),
        ("r1", "r5"),
        ("r3", "r4"),
    }
    # the normal rules pair every two records that share the name
    assert len(_pairs(prepared, PERSONS.blocking())) == 15


def test_the_large_rules_are_counted_before_scoring() -> None:
    prepared = prepare(PERSONS, _records())
    rules = PERSONS.blocking(large=True)
    for rule in rules[:3]:  # the name rules: each counted exactly
        assert count_candidate_pairs([prepared], [rule]) == len(_pairs(prepared, [rule]))
