"""Hierarchical log-linear models over lists: their terms, names and design matrices.

A model is the set of interaction terms it contains beyond the main effects (every list always
has its main effect). Models are hierarchical: a term's sub-terms are in the model too, so
``l1:l2:l3`` brings ``l1:l2``, ``l1:l3`` and ``l2:l3``. The J-way interaction of all lists is never
allowed: it is confounded with the unobserved cell, and including it makes the total unestimable.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .results import EstimationError

Term = frozenset[int]

INDEPENDENCE = "independence"
TWO_WAY = "two-way"
_INDEPENDENCE_WORDS = {"independence", "indep", "none"}
_TWO_WAY_WORDS = {"two-way", "all-two-way", "2-way", "twoway", "pairwise"}


def _term_key(term: Term) -> tuple[int, tuple[int, ...]]:
    return (len(term), tuple(sorted(term)))


@dataclass(frozen=True)
class LogLinearModel:
    """A hierarchical log-linear model over named lists.

    Args:
        lists: the list names.
        terms: the interaction terms (each a set of list positions, two or more, fewer than
            all lists), closed under taking sub-terms.
    """

    lists: tuple[str, ...]
    terms: frozenset[Term]

    @classmethod
    def from_generators(cls, lists: Sequence[str], generators: Iterable[Iterable[int]]
                        ) -> LogLinearModel:
        """Build the smallest hierarchical model containing the given terms."""
        n_lists = len(lists)
        terms: set[Term] = set()
        for generator in generators:
            term = frozenset(generator)
            if len(term) >= n_lists:
                names = ":".join(lists[j] for j in sorted(term))
                raise EstimationError(
                    f"the term {names} joins all {n_lists} lists; it is confounded with the "
                    "unobserved cell, so no model may contain it"
                )
            for size in range(2, len(term) + 1):
                terms.update(frozenset(sub) for sub in itertools.combinations(sorted(term), size))
        return cls(tuple(lists), frozenset(terms))

    @classmethod
    def independence(cls, lists: Sequence[str]) -> LogLinearModel:
        """The model with main effects only (lists independent)."""
        return cls(tuple(lists), frozenset())

    @classmethod
    def all_two_way(cls, lists: Sequence[str]) -> LogLinearModel:
        """The model with every two-way interaction."""
        return cls.from_generators(lists, itertools.combinations(range(len(lists)), 2))

    @classmethod
    def parse(cls, text: str, lists: Sequence[str]) -> LogLinearModel:
        """Parse terms such as ``"l1:l2 + l3:l4"`` (``,`` also separates terms).

        ``independence`` and ``two-way`` name those models. Single list names are main
        effects, always present, and are accepted for readability.

        Raises:
            EstimationError: an unknown list name or a forbidden term.
        """
        tokens = [t.strip() for t in re.split(r"[+,]", text) if t.strip()]
        if not tokens:
            raise EstimationError("the model has no terms; name terms like 'l1:l2' or "
                                  "'independence'")
        position = {name: j for j, name in enumerate(lists)}
        generators: list[tuple[int, ...]] = []
        for token in tokens:
            word = token.lower()
            if word in _INDEPENDENCE_WORDS:
                continue
            if word in _TWO_WAY_WORDS:
                generators.extend(itertools.combinations(range(len(lists)), 2))
                continue
            parts = [p.strip() for p in token.split(":")]
            for part in parts:
                if part not in position:
                    raise EstimationError(
                        f"unknown list {part!r} in model term {token!r} "
                        f"(lists: {', '.join(lists)})"
                    )
            if len(set(parts)) != len(parts):
                raise EstimationError(f"model term {token!r} names a list twice")
            generators.append(tuple(position[p] for p in parts))
        return cls.from_generators(lists, generators)

    @property
    def n_params(self) -> int:
        """Parameters: intercept, one main effect per list, one per interaction term."""
        return 1 + len(self.lists) + len(self.terms)

    def generators(self) -> list[Term]:
        """The maximal terms (those no other term contains), in a stable order."""
        maximal = [t for t in self.terms if not any(t < other for other in self.terms)]
        return sorted(maximal, key=_term_key)

    def describe(self) -> str:
        """Name the model by its maximal terms, e.g. ``l1:l2 + l3:l4`` (parseable back)."""
        generators = self.generators()
        if not generators:
            return INDEPENDENCE
        return " + ".join(":".join(self.lists[j] for j in sorted(t)) for t in generators)

    def sorted_terms(self) -> list[Term]:
        """All interaction terms, by size then position (the design's column order)."""
        return sorted(self.terms, key=_term_key)

    def design(self, patterns: np.ndarray) -> np.ndarray:
        """The design matrix for rows of 0/1 patterns: intercept, main effects, interactions."""
        columns = [np.ones(len(patterns))]
        columns.extend(patterns[:, j].astype(float) for j in range(len(self.lists)))
        for term in self.sorted_terms():
            columns.append(np.prod(patterns[:, sorted(term)], axis=1).astype(float))
        return np.column_stack(columns)

    def neighbours(self) -> Iterator[LogLinearModel]:
        """Models one step away that stay hierarchical: add one term, or drop a maximal one."""
        n_lists = len(self.lists)
        for size in range(2, n_lists):
            for combo in itertools.combinations(range(n_lists), size):
                term = frozenset(combo)
                if term in self.terms:
                    continue
                if size == 2 or all(term - {j} in self.terms for j in term):
                    yield LogLinearModel(self.lists, self.terms | {term})
        for term in self.generators():
            yield LogLinearModel(self.lists, self.terms - {term})


def all_hierarchical_models(lists: Sequence[str]) -> list[LogLinearModel]:
    """Every hierarchical model over the lists without the J-way term.

    There are 1, 8, 113 and 6,893 of them for 2, 3, 4 and 5 lists; beyond five lists, search
    stepwise instead.
    """
    n_lists = len(lists)
    candidates = [frozenset(c) for size in range(2, n_lists)
                  for c in itertools.combinations(range(n_lists), size)]
    found: list[LogLinearModel] = []

    def extend(i: int, chosen: frozenset[Term]) -> None:
        if i == len(candidates):
            found.append(LogLinearModel(tuple(lists), chosen))
            return
        extend(i + 1, chosen)
        term = candidates[i]
        if len(term) == 2 or all(term - {j} in chosen for j in term):
            extend(i + 1, chosen | {term})

    extend(0, frozenset())
    return found
