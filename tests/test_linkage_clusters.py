"""Identities from accepted links: components, undo, decisions, conflicts; pairwise scores."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.linkage import clusters as clusters_module
from sillok.linkage.clusters import (
    Decision,
    IdentityGraph,
    average_linkage_ids,
    average_linkage_reference,
    cautions,
    cluster_ids,
    pair_key,
)
from sillok.linkage.evaluate import (
    cluster_scores,
    pairs_from_clusters,
    pairs_from_list,
    pairwise_scores,
)


def test_links_join_records_transitively_and_the_smallest_id_names_the_cluster() -> None:
    graph = IdentityGraph.from_links([("b", "c"), ("c", "a")], records=["a", "b", "c", "d"])
    assert graph.clusters() == {"a": "a", "b": "a", "c": "a", "d": "d"}
    assert graph.same_identity("a", "b")
    assert graph.identities() == [{"a", "b", "c"}]


def test_undoing_a_link_splits_the_identity_again() -> None:
    graph = IdentityGraph.from_links([("a", "b"), ("b", "c")])
    graph.unlink("b", "c")
    assert graph.clusters() == {"a": "a", "b": "a", "c": "c"}
    assert not graph.same_identity("a", "c")


def test_undo_keeps_an_identity_held_together_by_another_path() -> None:
    graph = IdentityGraph.from_links([("a", "b"), ("b", "c"), ("a", "c")])
    graph.unlink("a", "c")
    assert graph.same_identity("a", "c")


def test_undoing_a_link_that_does_not_exist_is_an_error() -> None:
    graph = IdentityGraph.from_links([("a", "b")])
    with pytest.raises(KeyError, match="'a'.*'c'"):
        graph.unlink("a", "c")


def test_a_record_cannot_be_linked_to_itself() -> None:
    with pytest.raises(ValueError, match="itself"):
        IdentityGraph().link("a", "a")
    with pytest.raises(ValueError, match="itself"):
        Decision("a", "a", "accept")


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(ValueError, match="'merge'"):
        Decision("a", "b", "merge")  # type: ignore[arg-type]


def test_decisions_replay_in_order_and_the_last_one_wins() -> None:
    decisions = [
        Decision("r1", "r2", "accept"),
        Decision("r2", "r3", "accept"),
        Decision("r3", "r4", "skip"),
        Decision("r2", "r3", "undo"),
        Decision("r4", "r5", "reject"),
        Decision("r5", "r4", "accept"),
    ]
    graph = IdentityGraph.from_decisions(decisions, records=["r1", "r2", "r3", "r4", "r5"])
    assert graph.clusters() == {"r1": "r1", "r2": "r1", "r3": "r3", "r4": "r4", "r5": "r4"}
    assert graph.conflicts() == []


def test_a_rejected_pair_joined_through_others_is_a_conflict() -> None:
    graph = IdentityGraph.from_decisions(
        [
            Decision("a", "c", "reject"),
            Decision("a", "b", "accept"),
            Decision("b", "c", "accept"),
        ]
    )
    assert graph.conflicts() == [("a", "c")]
    graph.apply(Decision("b", "c", "undo"))
    assert graph.conflicts() == []


def test_links_are_listed_once() -> None:
    graph = IdentityGraph.from_links([("b", "a"), ("a", "b"), ("c", "b")])
    assert sorted(graph.links()) == [("a", "b"), ("b", "c")]


def test_cluster_ids_refuses_links_to_unknown_records() -> None:
    with pytest.raises(KeyError, match="'z'"):
        cluster_ids(["a", "b"], [("a", "z")])


edges = st.lists(
    st.tuples(st.integers(0, 14), st.integers(0, 14)).filter(lambda e: e[0] != e[1]),
    max_size=25,
)


@given(edges)
def test_sparse_clustering_agrees_with_the_graph(links: list[tuple[int, int]]) -> None:
    records = list(range(15))
    graph = IdentityGraph.from_links(links, records=records)
    expected = {str(k): v for k, v in graph.clusters().items()}
    assert cluster_ids(records, links) == expected


@given(edges, st.data())
def test_link_then_undo_restores_the_clusters(
    links: list[tuple[int, int]], data: st.DataObject
) -> None:
    graph = IdentityGraph.from_links(links, records=range(15))
    before = graph.clusters()
    a = data.draw(st.integers(0, 14))
    b = data.draw(st.integers(0, 14).filter(lambda x: x != a))
    if graph.is_linked(a, b):
        return
    graph.link(a, b)
    graph.unlink(a, b)
    assert graph.clusters() == before


def test_pairwise_scores() -> None:
    truth = pairs_from_clusters({"a": 1, "b": 1, "c": 1, "d": 2})
    assert truth == {("a", "b"), ("a", "c"), ("b", "c")}
    predicted = pairs_from_list([("b", "a"), ("c", "d"), ("a", "a")])
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (1, 1, 2)
    assert scores.precision == 0.5
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(0.4)
    assert scores.as_dict()["f1"] == 0.4


def test_scores_of_nothing_predicted_and_nothing_true() -> None:
    empty = pairwise_scores(set(), set())
    assert (empty.precision, empty.recall) == (1.0, 1.0)
    assert pairwise_scores(set(), {("a", "b")}).f1 == 0.0
    assert cluster_scores({"a": "x", "b": "x"}, {"a": 1, "b": 1}).f1 == 1.0


# --- average linkage -----------------------------------------------------------------------


def test_two_records_are_joined_exactly_when_their_pair_reaches_the_threshold() -> None:
    assert average_linkage_ids(["a", "b"], [("a", "b", 0.5)], 0.5) == {"a": "a", "b": "a"}
    assert average_linkage_ids(["a", "b"], [("a", "b", 0.49)], 0.5) == {"a": "a", "b": "b"}


def test_one_strong_pair_does_not_chain_two_groups() -> None:
    # Two reports each of two namesakes; one cross pair looks alike (fields missing).
    scored = [("a1", "a2", 0.99), ("b1", "b2", 0.99), ("a2", "b1", 0.6)]
    records = ["a1", "a2", "b1", "b2"]
    assert set(cluster_ids(records, [(a, b) for a, b, _p in scored]).values()) == {"a1"}
    clusters = average_linkage_ids(records, scored, 0.5)
    assert clusters == {"a1": "a1", "a2": "a1", "b1": "b1", "b2": "b1"}


def test_groups_alike_on_average_are_joined() -> None:
    scored = [
        ("a", "b", 0.95),
        ("c", "d", 0.95),
        ("a", "c", 0.7),
        ("a", "d", 0.6),
        ("b", "c", 0.5),
        ("b", "d", 0.4),
    ]
    clusters = average_linkage_ids(["a", "b", "c", "d", "e"], scored, 0.5)
    assert clusters == {"a": "a", "b": "a", "c": "a", "d": "a", "e": "e"}
    # mean between {a,b} and {c,d} is 0.55: not enough at 0.6
    assert set(average_linkage_ids(["a", "b", "c", "d"], scored, 0.6).values()) == {"a", "c"}


def test_average_linkage_refuses_pairs_of_unknown_records() -> None:
    with pytest.raises(KeyError, match="'z'"):
        average_linkage_ids(["a", "b"], [("a", "z", 0.9)], 0.5)


scored_pairs = st.dictionaries(
    st.tuples(st.integers(0, 11), st.integers(0, 11)).filter(lambda e: e[0] < e[1]),
    st.floats(0.01, 1.0),
    max_size=30,
)


@given(scored_pairs, st.floats(0.05, 0.95))
def test_average_linkage_refines_the_components_above_the_threshold(
    scored: dict[tuple[int, int], float], threshold: float
) -> None:
    records = list(range(12))
    triples = [(a, b, p) for (a, b), p in scored.items()]
    clusters = average_linkage_ids(records, triples, threshold)
    components = cluster_ids(records, [(a, b) for a, b, p in triples if p >= threshold])
    # every cluster lies inside one component: groups join only through a pair at the
    # threshold (a mean can reach it only if one of its pairs does)
    for record, cluster in clusters.items():
        assert components[record] == components[cluster]
    assert average_linkage_ids(records, list(reversed(triples)), threshold) == clusters


def merge_over_every_pair(
    records: Sequence[Hashable],
    scored: Iterable[tuple[Hashable, Hashable, float]],
    threshold: float,
) -> dict[str, str]:
    """Average linkage by its definition: at every step the mean over every pair of records
    of every two groups; the highest joins (on a tie the groups with the smallest ids)."""
    totals: dict[tuple[str, str], float] = {}
    for a, b, probability in scored:
        if str(a) != str(b):
            key = (min(str(a), str(b)), max(str(a), str(b)))
            totals[key] = totals.get(key, 0.0) + probability
    groups = {str(r): [str(r)] for r in records}
    while True:
        best: tuple[float, str, str] | None = None
        ids = sorted(groups)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                total = sum(
                    totals.get((min(x, y), max(x, y)), 0.0) for x in groups[a] for y in groups[b]
                )
                mean = total / (len(groups[a]) * len(groups[b]))
                if total > 0 and (best is None or mean > best[0]):
                    best = (mean, a, b)
        if best is None or best[0] < threshold:
            break
        groups[best[1]].extend(groups.pop(best[2]))
    return {member: min(group) for group in groups.values() for member in group}


# Probabilities in eighths add up exactly: ties between means are real ties.
tied_pairs = st.lists(
    st.tuples(
        st.integers(0, 11), st.integers(0, 11), st.sampled_from([k / 8 for k in range(1, 9)])
    ),
    max_size=40,
)


@given(tied_pairs, st.sampled_from([0.25, 0.375, 0.5, 0.625, 0.75]))
def test_average_linkage_is_merging_over_every_pair_with_ties_and_repeated_pairs(
    scored: list[tuple[int, int, float]], threshold: float
) -> None:
    # ids 10 and 11 sort before 2 as text: ties are broken by the ids as text
    records = list(range(12))
    expected = merge_over_every_pair(records, scored, threshold)
    assert average_linkage_reference(records, scored, threshold) == expected
    assert average_linkage_ids(records, scored, threshold) == expected
    # a pair given in either order, or twice, counts once per time it is given
    flipped = [(b, a, p) for a, b, p in scored]
    assert average_linkage_ids(records, flipped, threshold) == expected


@given(
    st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14), st.floats(0.01, 1.0)), max_size=60),
    st.floats(0.05, 0.95),
    st.sampled_from([2, 3, clusters_module.DENSE_LIMIT]),
)
def test_the_compiled_routine_gives_the_reference_clusters(
    scored: list[tuple[int, int, float]], threshold: float, dense_limit: int
) -> None:
    records = [f"r{i}" for i in range(15)]
    named = [(f"r{a}", f"r{b}", p) for a, b, p in scored]
    expected = average_linkage_reference(records, named, threshold)
    # components larger than the limit go to the reference routine inside the fast one
    with mock.patch.object(clusters_module, "DENSE_LIMIT", dense_limit):
        assert average_linkage_ids(records, named, threshold) == expected


def test_without_numba_the_reference_routine_runs() -> None:
    scored = [("a", "b", 0.9), ("b", "c", 0.6), ("a", "c", 0.2), ("c", "d", 0.55)]
    with mock.patch.object(clusters_module, "numba", None):
        plain = average_linkage_ids(list("abcde"), scored, 0.5)
    assert plain == average_linkage_ids(list("abcde"), scored, 0.5)
    assert plain == {"a": "a", "b": "a", "c": "c", "d": "c", "e": "e"}


@given(st.integers(2, 6), st.floats(0.5, 1.0))
def test_a_group_whose_every_pair_reaches_the_threshold_is_one_cluster(
    size: int, probability: float
) -> None:
    records = [f"r{i}" for i in range(size)]
    triples = [(a, b, probability) for i, a in enumerate(records) for b in records[i + 1 :]]
    assert set(average_linkage_ids(records, triples, 0.5).values()) == {"r0"}


# --- cautions before accepting a pair --------------------------------------------------------


def test_accepting_a_pair_already_joined_by_other_links_is_flagged() -> None:
    graph = IdentityGraph.from_links([("a", "b"), ("b", "c")])
    assert [c.code for c in cautions("a", "c", graph, {}, {}, 0.5)] == ["same identity"]


def test_a_rejected_pair_between_the_two_identities_is_named() -> None:
    graph = IdentityGraph.from_links([("a", "b"), ("c", "d")])
    probability = {pair_key(a, b): 0.9 for a in "ab" for b in "cd"}
    found = cautions("a", "c", graph, probability, {pair_key("b", "d"): 42}, 0.5)
    assert [(c.code, c.link) for c in found] == [("rejected between", 42)]


def test_identities_unlike_on_average_are_flagged_with_their_mean() -> None:
    graph = IdentityGraph.from_links([("a1", "a2"), ("b1", "b2")])
    probability = {pair_key("a2", "b1"): 0.8}  # the one pair that looks alike
    (found,) = cautions("a2", "b1", graph, probability, {}, 0.5)
    assert (found.code, found.sizes, found.mean) == ("unlike on average", (2, 2), 0.2)
    # alike on average: nothing to say; two single records: the pair speaks for itself
    alike = {pair_key(a, b): 0.9 for a in ("a1", "a2") for b in ("b1", "b2")}
    assert cautions("a2", "b1", graph, alike, {}, 0.5) == []
    assert cautions("x", "y", IdentityGraph(), {}, {}, 0.5) == []
