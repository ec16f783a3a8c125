"""Resolved identities: connected components of accepted links, with undo.

Links, not merges: the records themselves are never touched. An identity is the set of
records joined by accepted "same as" links; undoing a link removes that edge and the identity
splits again if nothing else holds it together. A cluster's id is its smallest member id
(by ``str``), so the same links give the same cluster ids whatever order they came in and
whichever engine scored them.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

numba: Any
try:
    import numba
except ImportError:  # the optional "fast" extra is not installed
    numba = None

# Evidence in docs/linkage.md: on the Korean synthetic development sets (seed 1; 1,000, 3,000
# and 10,000 persons) the average-linkage clusters' F1 is highest at 0.5 or within 0.3 points
# of it. 0.5 also reads plainly: linked when more likely the same than not.
DEFAULT_THRESHOLD = 0.5

Verdict = Literal["accept", "reject", "skip", "undo"]
VERDICTS: tuple[str, ...] = ("accept", "reject", "skip", "undo")


@dataclass(frozen=True)
class Decision:
    """A reviewer's verdict on one candidate pair.

    ``undo`` withdraws an earlier accept (or reject) of the same pair; ``skip`` leaves the pair
    in the queue and changes nothing.
    """

    left: Hashable
    right: Hashable
    verdict: Verdict

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; expected one of {VERDICTS}")
        if self.left == self.right:
            raise ValueError(f"a record cannot be linked to itself: {self.left!r}")


def pair_key(a: Hashable, b: Hashable) -> tuple[Hashable, Hashable]:
    """A pair of records in one order, whichever order it was given in."""
    return (a, b) if str(a) <= str(b) else (b, a)


class IdentityGraph:
    """Records as nodes, accepted links as edges; identities are connected components."""

    def __init__(self, records: Iterable[Hashable] = ()) -> None:
        self._adjacent: dict[Hashable, set[Hashable]] = {}
        self._rejected: set[tuple[Hashable, Hashable]] = set()
        for record in records:
            self._adjacent.setdefault(record, set())

    @classmethod
    def from_links(
        cls, links: Iterable[tuple[Hashable, Hashable]], records: Iterable[Hashable] = ()
    ) -> IdentityGraph:
        """A graph with every given pair accepted (e.g. pairs above a match threshold)."""
        graph = cls(records)
        for a, b in links:
            graph.link(a, b)
        return graph

    @classmethod
    def from_decisions(
        cls, decisions: Iterable[Decision], records: Iterable[Hashable] = ()
    ) -> IdentityGraph:
        """Replay reviewer decisions in order: the state after the last decision on each pair."""
        graph = cls(records)
        for decision in decisions:
            graph.apply(decision)
        return graph

    def apply(self, decision: Decision) -> None:
        """Apply one reviewer decision."""
        edge = pair_key(decision.left, decision.right)
        if decision.verdict == "accept":
            self._rejected.discard(edge)
            self.link(*edge)
        elif decision.verdict == "reject":
            if self.is_linked(*edge):
                self.unlink(*edge)
            self._rejected.add(edge)
        elif decision.verdict == "undo":
            if self.is_linked(*edge):
                self.unlink(*edge)
            self._rejected.discard(edge)

    def link(self, a: Hashable, b: Hashable) -> None:
        """Accept that ``a`` and ``b`` are the same; adding an existing link changes nothing."""
        if a == b:
            raise ValueError(f"a record cannot be linked to itself: {a!r}")
        self._adjacent.setdefault(a, set()).add(b)
        self._adjacent.setdefault(b, set()).add(a)

    def unlink(self, a: Hashable, b: Hashable) -> None:
        """Undo an accepted link.

        Raises:
            KeyError: if the two records are not directly linked.
        """
        if not self.is_linked(a, b):
            raise KeyError(f"no accepted link between {a!r} and {b!r} to undo")
        self._adjacent[a].discard(b)
        self._adjacent[b].discard(a)

    def is_linked(self, a: Hashable, b: Hashable) -> bool:
        """Whether a direct accepted link joins ``a`` and ``b``."""
        return b in self._adjacent.get(a, ())

    def links(self) -> Iterator[tuple[Hashable, Hashable]]:
        """Every accepted link once, as an ordered pair."""
        for a, neighbours in self._adjacent.items():
            for b in neighbours:
                if pair_key(a, b) == (a, b):
                    yield a, b

    def component(self, record: Hashable) -> set[Hashable]:
        """The records joined to ``record`` by accepted links (itself included)."""
        if record not in self._adjacent:
            return {record}
        seen = {record}
        queue = deque([record])
        while queue:
            for neighbour in self._adjacent[queue.popleft()]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)
        return seen

    def same_identity(self, a: Hashable, b: Hashable) -> bool:
        """Whether ``a`` and ``b`` are in one identity, directly or through others."""
        return b in self.component(a)

    def clusters(self) -> dict[Hashable, str]:
        """Record id -> cluster id (the smallest member id as text), for every known record."""
        cluster_of: dict[Hashable, str] = {}
        for record in self._adjacent:
            if record in cluster_of:
                continue
            members = self.component(record)
            cluster_id = min(str(m) for m in members)
            for member in members:
                cluster_of[member] = cluster_id
        return cluster_of

    def identities(self) -> list[set[Hashable]]:
        """The identities with more than one record, largest first."""
        groups: dict[str, set[Hashable]] = defaultdict(set)
        for record, cluster in self.clusters().items():
            groups[cluster].add(record)
        multi = [g for g in groups.values() if len(g) > 1]
        return sorted(multi, key=lambda g: (-len(g), min(str(m) for m in g)))

    def conflicts(self) -> list[tuple[Hashable, Hashable]]:
        """Rejected pairs that accepted links nevertheless join through other records.

        A reviewer said these two are different people, yet a chain of accepted links makes
        them one identity: one of the links in the chain is probably wrong.
        """
        return sorted(
            (edge for edge in self._rejected if self.same_identity(*edge)),
            key=lambda e: (str(e[0]), str(e[1])),
        )


def cluster_ids(
    records: Sequence[Hashable], links: Iterable[tuple[Hashable, Hashable]]
) -> dict[str, str]:
    """Record id (as text) -> cluster id (smallest member id as text), for many records.

    The same answer as ``IdentityGraph.from_links(links, records).clusters()`` with ids as
    text, computed with sparse arrays so that a million records take seconds.

    Raises:
        KeyError: for a link naming a record that is not in ``records``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = [str(r) for r in records]
    index = {name: i for i, name in enumerate(names)}
    left: list[int] = []
    right: list[int] = []
    for a, b in links:
        try:
            left.append(index[str(a)])
            right.append(index[str(b)])
        except KeyError as err:
            raise KeyError(f"link names an unknown record: {err.args[0]!r}") from None
    n = len(names)
    graph = coo_matrix(
        (
            np.ones(len(left), dtype=np.int8),
            (np.array(left, dtype=np.int64), np.array(right, dtype=np.int64)),
        ),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    smallest: dict[int, str] = {}
    for name, label in zip(names, labels.tolist(), strict=True):
        if label not in smallest or name < smallest[label]:
            smallest[label] = name
    return {name: smallest[label] for name, label in zip(names, labels.tolist(), strict=True)}


def average_linkage_ids(
    records: Sequence[Hashable],
    scored: Iterable[tuple[Hashable, Hashable, float]],
    threshold: float,
) -> dict[str, str]:
    """Record id (as text) -> cluster id, grouping records whose groups are alike on average.

    Connected components of the pairs above a threshold chain namesakes: one pair of reports
    of two different "Kim Young-soo"s joins their whole groups. Here two groups are joined
    only while the mean match probability over *all* pairs between them is at or above the
    threshold (average linkage, merged best first); a pair that was not scored counts as
    probability 0, and a pair given twice counts with the sum of its probabilities. Two
    single records are joined exactly when their pair reaches the threshold, so the
    threshold keeps its meaning. On the Korean development data this raises the clusters'
    pairwise F1 by 4 to 7 points over connected components (docs/linkage.md).

    Deterministic: ties are broken by the groups' ids, and a cluster id is the smallest member
    id as text.

    Every cluster lies inside one connected component of the pairs at the threshold (a mean
    reaches it only if one of its pairs does), so each component is clustered on its own,
    compiled with numba when it is installed (``pip install sillok[fast]``): the same merges
    in the same order, with the same floating-point sums, as ``average_linkage_reference``,
    which runs without numba (tested against merging over every pair).

    Raises:
        KeyError: for a pair naming a record that is not in ``records``.
    """
    import pandas as pd

    names = [str(r) for r in records]
    triples = list(scored)
    if numba is None or not threshold > 0 or not triples:
        return average_linkage_reference(names, triples, threshold)
    index = pd.Index(pd.unique(np.asarray(names, dtype=object)))
    columns = list(zip(*triples, strict=True))
    sides = []
    for raw in columns[:2]:
        side = index.get_indexer([str(v) for v in raw])
        if (side < 0).any():
            unknown = str(raw[int(np.argmax(side < 0))])
            raise KeyError(f"pair names an unknown record: {unknown!r}")
        sides.append(side.astype(np.int64))
    probability = np.asarray(columns[2], dtype=np.float64)
    if not np.isfinite(probability).all():
        return average_linkage_reference(names, triples, threshold)
    left, right = sides
    distinct = left != right
    low, high = np.minimum(left, right)[distinct], np.maximum(left, right)[distinct]
    keys, inverse = np.unique(low * len(index) + high, return_inverse=True)
    # np.add.at adds one pair after the other, in the pairs' order, as the reference does
    totals = np.zeros(len(keys))
    np.add.at(totals, inverse, probability[distinct])
    ids = np.asarray(index, dtype=object)
    cluster_of = {name: name for name in names}
    members, roots = _average_linkage_by_component(
        ids, keys // len(index), keys % len(index), totals, threshold
    )
    cluster_of.update(zip(ids[members].tolist(), ids[roots].tolist(), strict=True))
    return cluster_of


# A component of more records than this goes to the reference routine: the compiled one
# holds the component's pair sums as a dense matrix (8 bytes a cell; 6,000 records: 0.3 GB).
DENSE_LIMIT = 6_000


def _average_linkage_by_component(
    ids: Any, low: Any, high: Any, totals: Any, threshold: float
) -> tuple[Any, Any]:
    """Records in components of two or more (indices into ``ids``) and the smallest record
    of each one's cluster, from each distinct pair's (``low``, ``high``) summed probability.

    The components are taken a little below the threshold, so that rounding in a group's
    sum can never make a mean reach it across two components.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes, local = np.unique(np.concatenate([low, high]), return_inverse=True)
    a, b = local[: len(low)], local[len(low) :]
    strong = totals >= threshold * (1 - 1e-6)
    graph = coo_matrix(
        (np.ones(int(strong.sum()), dtype=np.int8), (a[strong], b[strong])),
        shape=(len(nodes), len(nodes)),
    )
    _, component = connected_components(graph, directed=False)
    multi = np.flatnonzero(np.bincount(component)[component] >= 2)
    # within a component, records go in the text order of their ids (ties break by ids)
    by_text = multi[np.argsort(ids[nodes[multi]], kind="stable")]
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[by_text] = np.arange(len(by_text))
    order = multi[np.lexsort((rank[multi], component[multi]))]
    _, node_start, sizes = np.unique(component[order], return_index=True, return_counts=True)
    node_start = np.append(node_start, len(order)).astype(np.int64)
    position = np.full(len(nodes), -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    block = np.zeros(len(nodes), dtype=np.int64)
    block[order] = np.repeat(np.arange(len(sizes)), sizes)
    inside = (position[a] >= 0) & (component[a] == component[b])
    pair_block = block[a[inside]]
    by_block = np.argsort(pair_block, kind="stable")
    pair_start = np.searchsorted(pair_block[by_block], np.arange(len(sizes) + 1))
    first = node_start[block]
    pair_i = (position[a[inside]] - first[a[inside]])[by_block]
    pair_j = (position[b[inside]] - first[b[inside]])[by_block]
    pair_total = totals[inside][by_block]
    dense = sizes <= DENSE_LIMIT
    group = np.arange(len(order)) - np.repeat(node_start[:-1], sizes)
    _merge_blocks(
        node_start,
        pair_start.astype(np.int64),
        pair_i,
        pair_j,
        pair_total,
        dense,
        float(threshold),
        int(sizes[dense].max(initial=0)),
        group,
    )
    for k in np.flatnonzero(~dense):
        # too large for a dense matrix: merge over the block's pairs with the heap
        span = slice(pair_start[k], pair_start[k + 1])
        local_ids = [str(i) for i in range(int(sizes[k]))]  # as text, in rank order
        width = len(local_ids[-1])
        padded = [i.zfill(width) for i in local_ids]
        found = average_linkage_reference(
            padded,
            zip(
                [padded[i] for i in pair_i[span]],
                [padded[j] for j in pair_j[span]],
                pair_total[span].tolist(),
                strict=True,
            ),
            threshold,
        )
        group[node_start[k] : node_start[k + 1]] = [int(found[p]) for p in padded]
    members = nodes[order]
    return members, members[node_start[block[order]] + group]


def _jit(function: Callable[..., Any]) -> Callable[..., Any]:
    if numba is None:
        return function
    # compiled on first call and cached on disk, so importing stays cheap
    compiled: Callable[..., Any] = numba.njit(cache=True, nogil=True)(function)
    return compiled


@_jit
def _row_best(sums: Any, size: Any, active: Any, best: Any, partner: Any, i: int, n: int) -> None:
    """The group after ``i`` that ``i``'s mean is highest with (the first one on a tie)."""
    top = -1.0
    who = -1
    for j in range(i + 1, n):
        if active[j]:
            mean = sums[i, j] / (size[i] * size[j])
            if mean > top:
                top = mean
                who = j
    best[i] = top
    partner[i] = who


@_jit
def _merge_blocks(
    node_start: Any,
    pair_start: Any,
    pair_i: Any,
    pair_j: Any,
    pair_total: Any,
    dense: Any,
    threshold: float,
    largest: int,
    group: Any,
) -> None:
    """Average linkage in each block of records (a component, records in id order), on a
    dense matrix of the groups' pair sums; returns each record's group as the block-local
    index of its first record. A group is named by its first record, so the pair merged
    next is the first (lowest, then highest index) among those with the highest mean, as
    ``average_linkage_reference`` picks it; the sums are added as it adds them. Blocks not
    ``dense`` are left alone."""
    sums = np.zeros((largest, largest))
    size = np.ones(largest)
    active = np.ones(largest, dtype=np.bool_)
    best = np.empty(largest)
    partner = np.empty(largest, dtype=np.int64)
    parent = np.empty(largest, dtype=np.int64)
    for c in range(node_start.shape[0] - 1):
        if not dense[c]:
            continue
        n = node_start[c + 1] - node_start[c]
        for i in range(n):
            size[i] = 1.0
            active[i] = True
            parent[i] = i
            for j in range(n):
                sums[i, j] = 0.0
        for k in range(pair_start[c], pair_start[c + 1]):
            sums[pair_i[k], pair_j[k]] = pair_total[k]
            sums[pair_j[k], pair_i[k]] = pair_total[k]
        for i in range(n):
            _row_best(sums, size, active, best, partner, i, n)
        while True:
            a = -1
            top = -1.0
            for i in range(n):
                if active[i] and partner[i] >= 0 and best[i] > top:
                    top = best[i]
                    a = i
            if a < 0 or top < threshold:
                break
            b = partner[a]
            size[a] += size[b]
            active[b] = False
            parent[b] = a
            for k in range(n):
                if active[k] and k != a:
                    total = sums[a, k] + sums[b, k]
                    sums[a, k] = total
                    sums[k, a] = total
            _row_best(sums, size, active, best, partner, a, n)
            for i in range(a):
                if not active[i]:
                    continue
                if partner[i] == a or partner[i] == b:
                    _row_best(sums, size, active, best, partner, i, n)
                else:
                    mean = sums[i, a] / (size[i] * size[a])
                    if mean > best[i] or (mean == best[i] and a < partner[i]):
                        best[i] = mean
                        partner[i] = a
            for i in range(a + 1, b):
                if active[i] and partner[i] == b:
                    _row_best(sums, size, active, best, partner, i, n)
        for i in range(n):
            root = i
            while parent[root] != root:
                root = parent[root]
            group[node_start[c] + i] = root


def average_linkage_reference(
    records: Sequence[Hashable],
    scored: Iterable[tuple[Hashable, Hashable, float]],
    threshold: float,
) -> dict[str, str]:
    """``average_linkage_ids`` merged best first over every pair with a heap, in plain Python.

    The definition the compiled routine is tested against, and what runs without numba.

    Raises:
        KeyError: for a pair naming a record that is not in ``records``.
    """
    names = [str(r) for r in records]
    known = set(names)
    # group id -> {neighbour group id: sum of match probabilities between the two groups}
    sums: dict[str, dict[str, float]] = {}
    for a, b, probability in scored:
        left, right = str(a), str(b)
        for name in (left, right):
            if name not in known:
                raise KeyError(f"pair names an unknown record: {name!r}")
        if left == right:
            continue
        sums.setdefault(left, {})
        sums.setdefault(right, {})
        sums[left][right] = sums[left].get(right, 0.0) + float(probability)
        sums[right][left] = sums[right].get(left, 0.0) + float(probability)
    members: dict[str, list[str]] = {name: [name] for name in sums}
    heap = [(-total, a, b) for a, row in sums.items() for b, total in row.items() if a < b]
    heapq.heapify(heap)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a not in members or b not in members or b not in sums[a]:
            continue  # a group merged away since this entry was pushed
        mean = sums[a][b] / (len(members[a]) * len(members[b]))
        if mean != -negative:
            continue  # a stale entry: the pair was re-pushed with its current mean
        if mean < threshold:
            break
        keep, gone = (a, b) if a < b else (b, a)
        for other in sums.pop(gone):
            if other == keep:
                continue
            row = sums[other]
            row[keep] = row.get(keep, 0.0) + row.pop(gone)
            sums[keep][other] = row[keep]
        del sums[keep][gone]
        members[keep].extend(members.pop(gone))
        size = len(members[keep])
        for other, total in sums[keep].items():
            low, high = (keep, other) if keep < other else (other, keep)
            heapq.heappush(heap, (-total / (size * len(members[other])), low, high))
    cluster_of = {name: name for name in names}
    for group in members.values():
        smallest = min(group)
        for name in group:
            cluster_of[name] = smallest
    return cluster_of


@dataclass(frozen=True)
class Caution:
    """Why accepting a candidate pair deserves a second look.

    ``code`` is one of ``same identity`` (other accepted links already join the two),
    ``rejected between`` (a reviewer rejected a pair between the two identities: ``link``
    names it) and ``unlike on average`` (the identities hold ``sizes`` records and their
    pairs' mean match probability, unscored ones counting 0, is ``mean``, below the
    threshold).
    """

    code: str
    link: Hashable | None = None
    sizes: tuple[int, int] = (1, 1)
    mean: float | None = None


def cautions(
    left: Hashable,
    right: Hashable,
    graph: IdentityGraph,
    probability: dict[tuple[Hashable, Hashable], float],
    rejected: dict[tuple[Hashable, Hashable], Hashable],
    threshold: float,
) -> list[Caution]:
    """What accepting the pair (left, right) would do beyond the pair itself.

    Accepting a link joins two whole identities: a chain of links can make one person of two
    (merging wrongly destroys evidence). ``graph`` holds the accepted links,
    ``probability`` the match probability of every scored pair (ordered as ``_edge``
    orders them) and ``rejected`` each rejected pair's link id.
    """
    if graph.same_identity(left, right):
        return [Caution("same identity")]
    ours, theirs = graph.component(left), graph.component(right)
    found = []
    for a in ours:
        for b in theirs:
            link = rejected.get(pair_key(a, b))
            if link is not None:
                found.append(Caution("rejected between", link=link))
                break
        else:
            continue
        break
    if len(ours) + len(theirs) > 2:
        total = sum(probability.get(pair_key(a, b), 0.0) for a in ours for b in theirs)
        mean = total / (len(ours) * len(theirs))
        if mean < threshold:
            found.append(
                Caution("unlike on average", sizes=(len(ours), len(theirs)), mean=round(mean, 3))
            )
    return found
