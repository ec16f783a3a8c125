"""Pairwise accuracy of a linkage: precision, recall and F1 over record pairs.

A pair is counted once whatever its order. Predicted pairs either come straight from the scored
candidate list or are implied by clusters (every two members of one cluster), which is what a
resolved identity asserts; the benchmarks report the latter unless they say otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

Pair = tuple[Any, Any]


def normalise_pair(a: Hashable, b: Hashable) -> Pair:
    """Order a pair so that (a, b) and (b, a) compare equal; ids compare as strings."""
    return (a, b) if str(a) <= str(b) else (b, a)


def pairs_from_clusters(cluster_of: Mapping[Any, Any]) -> set[Pair]:
    """Every unordered pair of records that share a cluster.

    Args:
        cluster_of: record id -> cluster id.
    """
    members: dict[Hashable, list[Hashable]] = defaultdict(list)
    for record, cluster in cluster_of.items():
        members[cluster].append(record)
    pairs: set[Pair] = set()
    for group in members.values():
        for a, b in combinations(group, 2):
            pairs.add(normalise_pair(a, b))
    return pairs


def pairs_from_list(pairs: Iterable[tuple[Any, Any]]) -> set[Pair]:
    """Normalise a list of (id, id) pairs into a set of unordered pairs, dropping self-pairs."""
    return {normalise_pair(a, b) for a, b in pairs if a != b}


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise confusion counts and the scores derived from them."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true (1.0 when nothing was predicted)."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that were predicted (1.0 when there are none)."""
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Counts and rounded scores, for JSON output."""
        out: dict[str, Any] = asdict(self)
        out.update(
            precision=round(self.precision, 4),
            recall=round(self.recall, 4),
            f1=round(self.f1, 4),
        )
        return out


def pairwise_scores(predicted: set[Pair], truth: set[Pair]) -> PairwiseScores:
    """Compare predicted pairs with true pairs (both already normalised)."""
    tp = len(predicted & truth)
    return PairwiseScores(
        true_positives=tp,
        false_positives=len(predicted) - tp,
        false_negatives=len(truth) - tp,
    )


def cluster_scores(predicted: Mapping[Any, Any], truth: Mapping[Any, Any]) -> PairwiseScores:
    """Pairwise scores of a predicted clustering against a true one (record id -> cluster)."""
    return pairwise_scores(pairs_from_clusters(predicted), pairs_from_clusters(truth))
