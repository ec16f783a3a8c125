"""Synthetic populations with known totals, for checking estimators against the truth.

A population model is a probability for each of the 2^J capture patterns, index = the pattern
read as a binary number with the first list as the most significant bit (index 0: on no list).
Drawing a population of known size and hiding its index-0 cell gives an overlap table whose true
total is known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .table import OverlapTable


def all_patterns(n_lists: int) -> np.ndarray:
    """The (2^J, J) 0/1 matrix of every pattern, row i = i in binary (first list first)."""
    codes = np.arange(2**n_lists)
    shifts = np.arange(n_lists - 1, -1, -1)
    return ((codes[:, None] >> shifts) & 1).astype(np.int64)


def latent_class_probabilities(class_weights: ArrayLike, capture: ArrayLike) -> np.ndarray:
    """Pattern probabilities when people fall in latent classes, lists independent within each.

    Args:
        class_weights: share of the population in each class (sums to 1).
        capture: capture[k][j] = probability that list j records a person of class k.
    """
    weights = np.asarray(class_weights, dtype=float)
    probs = np.asarray(capture, dtype=float)
    if probs.ndim != 2 or probs.shape[0] != weights.size:
        raise ValueError("capture must have one row of list probabilities per class")
    if not np.isclose(weights.sum(), 1.0):
        raise ValueError(f"class weights sum to {weights.sum()}, not 1")
    patterns = all_patterns(probs.shape[1])
    per_class = np.prod(np.where(patterns[:, None, :] == 1, probs[None], 1 - probs[None]),
                        axis=2)
    result: np.ndarray = per_class @ weights
    return result


def loglinear_probabilities(main: Sequence[float],
                            interactions: Mapping[tuple[int, ...], float]) -> np.ndarray:
    """Pattern probabilities from a log-linear model: log p = const + main + interactions.

    Args:
        main: main-effect log-odds per list.
        interactions: extra log terms for patterns containing the listed lists, e.g.
            ``{(0, 1): 1.0}`` makes being on lists 0 and 1 together e times likelier.
    """
    patterns = all_patterns(len(main))
    log_p = patterns @ np.asarray(main, dtype=float)
    for lists, value in interactions.items():
        log_p = log_p + value * np.prod(patterns[:, list(lists)], axis=1)
    weights = np.exp(log_p - log_p.max())
    result: np.ndarray = weights / weights.sum()
    return result


def draw_table(size: int, probabilities: np.ndarray, rng: np.random.Generator,
               lists: Sequence[str] | None = None) -> OverlapTable:
    """Draw a population of ``size`` people and return its overlap table (index 0 hidden)."""
    n_lists = int(np.log2(len(probabilities)))
    if 2**n_lists != len(probabilities):
        raise ValueError(f"{len(probabilities)} probabilities is not 2^J for any J")
    names = tuple(lists) if lists is not None else tuple(f"l{j + 1}" for j in range(n_lists))
    cells = rng.multinomial(size, probabilities)
    return OverlapTable(names, tuple(int(c) for c in cells[1:]))
