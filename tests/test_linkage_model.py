"""The linkage model end to end on DuckDB: training, scores, reasons, clusters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sillok.linkage.evaluate import cluster_scores
from sillok.linkage.model import DedupeResult, LinkageModel, LinkageSettings, dedupe
from sillok.linkage.schema import PERSONS, FieldSpec, Schema
from sillok.synthetic.persons import reports_frame

# Two persons one syllable apart, each reported in several scripts and spellings, among
# synthetic others so that the model has something to learn from.
NAMED = [
    ("u1", "Kim Jong-un", None, "1984", "male", "KP-01"),
    ("u2", "김정은", None, "about 1984", "male", "Pyongyang"),
    ("u3", "Kim Chŏng-ŭn", None, "1983-1985", "male", None),
    ("u4", "Jong-un Kim", "김정은", "1984-01-08", None, "KP-01"),
    ("i1", "Kim Jong-il", None, "1983", "male", "KP-01"),
    ("i2", "김정일", None, "1983년경", "male", "KP-01"),
    ("i3", "Kim Chŏng-il", "김정일", "1983", "male", None),
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    base = reports_frame(150, seed=5)
    named = pd.DataFrame(
        NAMED, columns=["id", "name", "name_hangul", "birth", "sex", "origin"]
    ).assign(person_id=lambda f: f["id"].str[0])
    return pd.concat([base, named], ignore_index=True)


@pytest.fixture(scope="module")
def result(frame: pd.DataFrame) -> DedupeResult:
    return dedupe(frame, PERSONS, LinkageSettings())


def test_finds_most_true_pairs_and_few_false_ones(
    frame: pd.DataFrame, result: DedupeResult
) -> None:
    truth = dict(zip(frame["id"], frame["person_id"], strict=True))
    scores = cluster_scores(result.clusters, truth)
    assert scores.precision >= 0.85, scores
    assert scores.recall >= 0.8, scores


def test_spellings_of_one_person_link_and_a_one_syllable_neighbour_does_not(
    result: DedupeResult,
) -> None:
    clusters = result.clusters
    assert len({clusters[i] for i in ("u1", "u2", "u3", "u4")}) == 1
    assert len({clusters[i] for i in ("i1", "i2", "i3")}) == 1
    assert clusters["u1"] != clusters["i1"]


def test_every_record_has_a_cluster_named_after_its_smallest_member(
    frame: pd.DataFrame, result: DedupeResult
) -> None:
    assert set(result.clusters) == set(frame["id"])
    for record, cluster in result.clusters.items():
        assert cluster <= record
        assert result.clusters[cluster] == cluster


def test_pairs_are_ordered_sorted_and_above_the_review_floor(result: DedupeResult) -> None:
    pairs = result.pairs
    assert (pairs["left_id"] < pairs["right_id"]).all()
    assert pairs["match_probability"].is_monotonic_decreasing
    assert (pairs["match_probability"] >= LinkageSettings().review_floor).all()


def test_the_model_is_json_and_records_its_training_steps(result: DedupeResult) -> None:
    text = json.dumps(result.model)
    assert "same name, other spelling" in text and "probability_two_random_records_match" in text
    for step in ("features", "u", "em_1", "predict", "cluster"):
        assert step in result.timings


def test_explanation_says_which_fields_moved_the_score(frame: pd.DataFrame) -> None:
    model = LinkageModel(PERSONS).fit(frame)
    pairs = model.predict(threshold=0.0001)
    row = pairs[(pairs["left_id"] == "u1") & (pairs["right_id"] == "u2")].iloc[0]
    evidence = model.explain(row)
    assert [e.field for e in evidence][0] == "name"
    assert evidence[0].level.startswith("same name, other spelling")
    assert evidence[0].weight > 5
    assert {e.field for e in evidence} == {"name", "birth", "sex", "origin"}
    records = frame.set_index("id")
    near = model.score(
        {"id": "i1", **records.loc["i1"].to_dict()}, {"id": "u1", **records.loc["u1"].to_dict()}
    )
    name = next(e for e in model.explain(near) if e.field == "name")
    assert name.level == "same surname, different given name"
    assert name.weight < 0
    assert near["match_probability"] < 0.5


def test_a_second_run_gives_the_same_clusters(frame: pd.DataFrame, result: DedupeResult) -> None:
    again = dedupe(frame, PERSONS, LinkageSettings())
    assert again.clusters == result.clusters


def test_predicting_before_training_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        LinkageModel(PERSONS).predict()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        LinkageSettings(threshold=1.5)
    with pytest.raises(ValueError, match="review_floor"):
        LinkageSettings(threshold=0.5, review_floor=0.8)
    with pytest.raises(ValueError, match="'oracle'"):
        LinkageSettings(engine="oracle")
    with pytest.raises(ValueError, match="'colour'"):
        FieldSpec("eyes", "colour", ("eyes",))  # type: ignore[arg-type]


def test_a_single_record_is_its_own_cluster() -> None:
    one = pd.DataFrame([NAMED[0]], columns=["id", "name", "name_hangul", "birth", "sex", "origin"])
    assert dedupe(one, PERSONS).clusters == {"u1": "u1"}


def test_a_tiny_file_runs_and_keeps_the_neighbour_apart() -> None:
    tiny = pd.DataFrame(
        NAMED + [("x1", "Pak Mi-ok", None, "1950", "female", "KP-09")],
        columns=["id", "name", "name_hangul", "birth", "sex", "origin"],
    )
    result = dedupe(tiny, PERSONS)
    assert set(result.clusters) == set(tiny["id"])
    assert result.clusters["x1"] == "x1"
    assert result.clusters["u1"] != result.clusters["i1"]


def test_linking_two_files_with_a_schema_of_other_fields() -> None:
    schema = Schema(
        name="people",
        id_column="rid",
        fields=(
            FieldSpec("name", "person_name_parts", ("given", "family")),
            FieldSpec("dob", "date", ("dob",)),
            FieldSpec("ssn", "identifier", ("ssn",)),
        ),
    )
    left = pd.DataFrame(
        {
            "rid": [f"a{i}" for i in range(40)],
            "given": [f"given{i % 13}" for i in range(40)],
            "family": [f"family{i % 7}" for i in range(40)],
            "dob": [f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}" for i in range(40)],
            "ssn": [f"{1000 + i}" for i in range(40)],
        }
    )
    right = left.assign(rid=lambda f: f["rid"].str.replace("a", "b"))
    model = LinkageModel(schema).fit([left, right])
    pairs = model.predict(threshold=0.5)
    linked = set(zip(pairs["left_id"], pairs["right_id"], strict=True))
    assert {(f"a{i}", f"b{i}") for i in range(40)} <= linked


def test_a_surname_spelling_that_reads_as_two_surnames_still_makes_a_candidate_pair() -> None:
    # "So" is read 소 first, "Seo" is 서; the DPRK writes 서 "So". Different name keys, the
    # same sound: the pair must still be scored.
    rows = [("s1", "So Kyong-won", None, "1967", "male", None),
            ("s2", "Seo Kyung-won", None, "c. 1966", "male", None)]
    base = reports_frame(60, seed=3).drop(columns=["person_id"])
    frame = pd.concat(
        [base, pd.DataFrame(rows, columns=["id", "name", "name_hangul", "birth", "sex", "origin"])],
        ignore_index=True,
    )
    pairs = LinkageModel(PERSONS, LinkageSettings(review_floor=1e-6)).fit(frame).predict()
    found = {frozenset(p) for p in zip(pairs["left_id"], pairs["right_id"], strict=True)}
    assert frozenset(("s1", "s2")) in found
