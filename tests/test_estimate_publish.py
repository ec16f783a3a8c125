"""Strata and their total, small-cell protection of published output, and charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.estimate import (
    EstimateSettings,
    Method,
    OverlapTable,
    estimate,
    estimate_strata,
    publish,
    render_svg,
    withheld_strata,
    write_chart,
)
from sillok.estimate.simulate import draw_table, latent_class_probabilities

PROBABILITIES = latent_class_probabilities([0.4, 0.6], [[0.5, 0.4, 0.45, 0.5],
                                                        [0.2, 0.25, 0.15, 0.2]])


def _strata(sizes: dict[str, int], seed: int = 3) -> dict[str, OverlapTable]:
    """Synthetic strata: each a population of the given size drawn from one model."""
    rng = np.random.default_rng(seed)
    out = {}
    for label, size in sizes.items():
        table = draw_table(size, PROBABILITIES, rng)
        out[label] = OverlapTable(table.lists, table.counts, stratum=label)
    return out


def _tiny(label: str) -> OverlapTable:
    """A stratum of three people: far under the publication threshold."""
    return OverlapTable.from_cells(("l1", "l2", "l3", "l4"),
                                   {(1, 0, 0, 0): 1, (0, 1, 0, 0): 1, (1, 1, 0, 0): 1},
                                   stratum=label)


def test_loglinear_strata_sum_to_the_total() -> None:
    tables = _strata({"2010": 900, "2011": 1200, "2012": 700})
    result = estimate_strata(tables, "year", EstimateSettings(seed=9, bootstrap=300))
    estimates = [r.estimate for r in result.strata]
    assert all(e is not None for e in estimates)
    assert result.total.estimate == pytest.approx(sum(e for e in estimates if e is not None))
    assert result.total.observed == sum(t.observed for t in tables.values())
    total = result.total
    assert total.lower is not None and total.upper is not None and total.estimate is not None
    assert total.lower < total.estimate < total.upper
    assert "parametric-bootstrap" in result.total.interval
    assert [r.stratum for r in result.strata] == ["2010", "2011", "2012"]
    for r, table in zip(result.strata, tables.values(), strict=True):
        alone = estimate(table, EstimateSettings(seed=9))
        assert r.estimate == pytest.approx(alone.estimate)
        assert (r.lower, r.upper) == pytest.approx((alone.lower, alone.upper))


def test_lcmcr_total_interval_comes_from_summed_draws() -> None:
    tables = _strata({"north": 800, "south": 600})
    settings = EstimateSettings(method=Method.LCMCR, seed=4, burnin=2000, samples=500,
                                thinning=5, chains=2)
    result = estimate_strata(tables, "province", settings)
    draws = [r.draws for r in result.strata]
    assert all(d is not None for d in draws)
    summed = np.sum([d for d in draws if d is not None], axis=0)
    assert result.total.draws is not None
    assert np.array_equal(result.total.draws, summed)
    assert result.total.lower == pytest.approx(np.quantile(summed, 0.025))
    assert result.total.estimate == pytest.approx(
        sum(r.estimate for r in result.strata if r.estimate is not None))


def test_a_stratum_that_cannot_be_estimated_is_reported_and_blocks_the_total() -> None:
    tables = _strata({"2010": 900})
    tables["2011"] = OverlapTable.from_cells(("l1", "l2", "l3", "l4"), {(1, 0, 0, 0): 40},
                                             stratum="2011")
    result = estimate_strata(tables, "year", EstimateSettings(seed=1, bootstrap=50))
    failed = result.strata[1]
    assert failed.estimate is None
    assert "not estimated: only 1 list has records in stratum '2011'" in failed.warnings[0]
    assert result.total.estimate is None
    assert "stratum(s) 2011 could not be" in result.total.warnings[0]


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 40), min_size=1,
                       max_size=8), st.integers(1, 10))
def test_withheld_strata_cannot_be_recovered_from_the_total(counts: dict[str, int],
                                                            threshold: int) -> None:
    hidden = withheld_strata(counts, threshold)
    assert {k for k, v in counts.items() if v < threshold} <= hidden
    if hidden and len(hidden) < len(counts):
        # total minus the published strata gives the hidden sum: it must not single one out
        assert len(hidden) >= 2
        assert sum(counts[k] for k in hidden) >= threshold


def _published_counts(published: dict[str, object]) -> list[object]:
    strata = published.get("strata", [])
    assert isinstance(strata, list)
    return [published["observed"], *(s["observed"] for s in strata)]


def test_published_output_never_shows_a_small_count(tmp_path: Path) -> None:
    tables = _strata({"2010": 900, "2011": 1100, "2012": 1300})
    tables["2013"] = _tiny("2013")
    result = estimate_strata(tables, "year", EstimateSettings(seed=2, bootstrap=100))
    # three people cannot pin down their stratum: many refits have no finite estimate
    assert result.total.upper is None
    assert any(w.startswith("in stratum 2013,") and "count as unbounded" in w
               for w in result.total.warnings)
    published = publish(result, threshold=5)
    by_label = {s["stratum"]: s for s in published["strata"]}
    assert by_label["2013"]["observed"] == "<5"
    assert by_label["2013"]["estimate"] is None and by_label["2013"]["lower"] is None
    assert by_label["2013"]["warnings"] == ["withheld: fewer than 5 people recorded"]
    # the smallest other stratum is withheld too, or the total would give 2013 away
    assert by_label["2010"]["observed"] == "withheld"
    assert by_label["2010"]["estimate"] is None
    assert isinstance(published["observed"], int)
    assert published["estimate"] is not None  # the total is still published
    shown = [v for v in _published_counts(published) if isinstance(v, int)]
    assert all(v >= 5 for v in shown)
    assert published["observed"] - sum(shown[1:]) >= 5
    text = json.dumps(published)
    assert '"observed": 3' not in text
    svg = render_svg(published)
    assert "observed 3" not in svg and "withheld (small counts)" in svg


def test_unstratified_small_table_is_withheld_whole() -> None:
    result = estimate(_tiny("x"), EstimateSettings(model="independence"))
    published = publish(result, threshold=5)
    assert published["observed"] == "<5"
    assert published["estimate"] is None and published["details"] == {}
    big = publish(estimate(_strata({"a": 900})["a"], EstimateSettings()), threshold=5)
    assert isinstance(big["observed"], int) and big["estimate"] is not None
    assert set(big) >= {"method", "estimate", "lower", "upper", "observed", "model",
                        "warnings"}


def test_chart_shows_each_stratum_with_its_interval(tmp_path: Path) -> None:
    tables = _strata({"2010": 900, "2011": 1100})
    published = publish(estimate_strata(tables, "year", EstimateSettings(seed=5,
                                                                          bootstrap=100)))
    path = write_chart(published, tmp_path / "chart.svg")
    root = ET.fromstring(path.read_text(encoding="utf-8"))
    namespace = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in root.iter(f"{namespace}text")]
    assert {"2010", "2011", "Total"} <= set(labels)
    assert "Observed and estimated totals by year" in labels
    circles = list(root.iter(f"{namespace}circle"))
    assert len(circles) == 1 + 3  # legend + two strata + total
    titles = [c.findtext(f"{namespace}title") for c in circles[1:]]
    assert all(t and t.startswith("estimate ") for t in titles)
    with pytest.raises(ValueError, match="only .svg"):
        write_chart(published, tmp_path / "chart.png")
