"""Splink comparisons over the features of ``features``: names, dates, places, sex, codes.

Every comparison reads columns prefixed by its field name (``name_sn``, ``birth_lo``...), as
``schema.prepare`` writes them. The SQL uses only what DuckDB and Spark share (or Splink's
dialect-aware levels), so the same model runs on both engines.

Levels go from the strongest agreement to none; Splink learns how much each one moves the
score. Their labels are what a reviewer reads in an explanation, so they are plain words.
"""

from __future__ import annotations

try:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink.internals.comparison_creator import ComparisonCreator
except ImportError as err:  # pragma: no cover - the linkage extra is not installed
    raise ImportError(
        "record linkage needs Splink and DuckDB: pip install 'sillok[linkage]'"
    ) from err

# How often the reports of one person fall in each name level: the name's m values when no
# training rule can estimate them (a person record has no field but the name strong enough to
# train it against). Set from how testimonies spell names, checked on the synthetic
# development set (docs/linkage.md); reviewed decisions refine them.
NAME_M_PRIORS: dict[str, float] = {
    "same spelling": 0.40,
    "same name, other spelling": 0.49,
    "same name, surname read another way": 0.01,
    "given name misspelt": 0.03,
    "surname misspelt": 0.01,
    "family and given names swapped": 0.01,
    "same surname, different given name": 0.02,
    "same given name, different surname": 0.01,
    "different names": 0.02,
}


# How often two reports of *different* persons fall in each "same name" level: the chance
# agreement (u) a large file measures, shipped so that a small file, which cannot measure it
# (its random pairs are full of its own duplicates), starts from it. Learned once by
# ``bench/bench_linkage_eval.py --learn-priors`` on the development generator at 10,000
# persons (seed 1, tune data only), as ``training.name_u_where_dates_differ`` measures it
# with no prior; a file's own measurement takes over as it grows.

SAME_NAME_U_PRIORS: dict[str, float] = {
    "same spelling, common surname": 2.5e-5,
    "same spelling": 2.3e-6,
    "same name, other spelling, common surname": 5.0e-5,
    "same name, other spelling": 4.9e-6,
}
# The values above weigh as much as this many of the file's own pairs with birth dates far
# apart (or, where those cannot be counted, random pairs).
U_PRIOR_PAIRS = 20_000.0


# Kim, Lee and Park are the surnames of nearly half of all Koreans: two reports that share
# one of them and the given name say much less than two that share a rarer surname, so the
# "same name" levels are split and Splink learns a chance-agreement rate (u) for each half.
COMMON_SURNAMES: tuple[str, ...] = ("김", "이", "박")
COMMON_SURNAME_SHARE = 0.45  # of Koreans (ROK census 2015: 21.5 + 14.7 + 8.4 per cent)


def level(sql: str, label: str) -> cll.CustomLevel:
    """A level given by SQL over the ``_l``/``_r`` feature columns, with its label."""
    return cll.CustomLevel(sql, label_for_charts=label)


def person_name_comparison(
    field: str = "name", *, typo_similarity: float = 0.88
) -> ComparisonCreator:
    """A person name in any script and romanization.

    Levels: same spelling > same name in another spelling (surname variants, romanization
    family, DPRK/ROK initial sound) > the same, reading an ambiguous surname spelling
    (Chun: 전 or 천) the other way > given name misspelt (only when one of the two is not a
    well-formed Korean given name: Jong-un vs Jong-il is a different name, not a typo) >
    surname misspelt > family and given names swapped > same surname, different given name >
    same given name, different surname > different.

    The two "same name" levels are each split by whether the surname is one of the three
    most common (``COMMON_SURNAMES``).

    Args:
        field: column prefix.
        typo_similarity: Jaro-Winkler similarity from which a spelling counts as a typo.
    """
    p = field
    surname_same = (
        f"({p}_sn_l = {p}_sn_r OR instr({p}_sn_all_l, concat('|', {p}_sn_r, '|')) > 0"
        f" OR instr({p}_sn_all_r, concat('|', {p}_sn_l, '|')) > 0)"
    )
    hangul_agrees = f"({p}_hg_l IS NULL OR {p}_hg_r IS NULL OR {p}_hg_l = {p}_hg_r)"
    given_same = f"{p}_gk_l = {p}_gk_r AND {hangul_agrees}"
    may_be_typo = f"NOT ({p}_strict_l AND {p}_strict_r)"
    common = f"{p}_sn_l IN ({', '.join(repr(s) for s in COMMON_SURNAMES)})"
    m = NAME_M_PRIORS
    return cl.CustomComparison(
        output_column_name=p,
        comparison_description="person name (Korean-aware)",
        comparison_levels=[
            level(
                f"{p}_gk_l IS NULL OR {p}_gk_r IS NULL OR {p}_sn_l IS NULL OR {p}_sn_r IS NULL",
                "name missing",
            ).configure(is_null_level=True),
            level(f"{p}_full_l = {p}_full_r AND {common}", "same spelling, common surname")
            .configure(m_probability=m["same spelling"] * COMMON_SURNAME_SHARE),
            level(f"{p}_full_l = {p}_full_r", "same spelling").configure(
                m_probability=m["same spelling"] * (1 - COMMON_SURNAME_SHARE)
            ),
            level(
                f"{p}_key_l = {p}_key_r AND {hangul_agrees} AND {common}",
                "same name, other spelling, common surname",
            ).configure(m_probability=m["same name, other spelling"] * COMMON_SURNAME_SHARE),
            level(f"{p}_key_l = {p}_key_r AND {hangul_agrees}", "same name, other spelling")
            .configure(
                m_probability=m["same name, other spelling"] * (1 - COMMON_SURNAME_SHARE)
            ),
            level(f"{surname_same} AND {given_same}", "same name, surname read another way")
            .configure(m_probability=m["same name, surname read another way"]),
            cll.And(
                level(surname_same, "surname agrees"),
                cll.Or(
                    cll.And(
                        level(may_be_typo, "not both well-formed Korean"),
                        cll.JaroWinklerLevel(f"{p}_gf", typo_similarity),
                    ),
                    # Two letters swapped: a slip of the pen, not another name, even when
                    # both spellings are well-formed Korean (An So-a / An Os-a).
                    cll.And(
                        cll.DamerauLevenshteinLevel(f"{p}_gf", 1),
                        cll.Not(cll.LevenshteinLevel(f"{p}_gf", 1)),
                    ),
                ),
            ).configure(
                label_for_charts="given name misspelt", m_probability=m["given name misspelt"]
            ),
            cll.And(
                level(given_same, "given name agrees"),
                cll.Or(
                    cll.JaroWinklerLevel(f"{p}_ss", typo_similarity),
                    cll.DamerauLevenshteinLevel(f"{p}_ss", 1),
                ),
            ).configure(label_for_charts="surname misspelt", m_probability=m["surname misspelt"]),
            level(
                f"{p}_ss_l = {p}_gk_r AND {p}_gk_l = {p}_ss_r", "family and given names swapped"
            ).configure(m_probability=m["family and given names swapped"]),
            level(surname_same, "same surname, different given name").configure(
                m_probability=m["same surname, different given name"]
            ),
            level(given_same, "same given name, different surname").configure(
                m_probability=m["same given name, different surname"]
            ),
            cll.ElseLevel().configure(
                label_for_charts="different names", m_probability=m["different names"]
            ),
        ],
    )


def date_comparison(field: str, *, vague_m: float | None = None) -> ComparisonCreator:
    """An uncertain date compared by the overlap of its ranges.

    Levels: same exact day > overlapping, both within a month > one-character typo in a
    full date > overlapping, both within a year > overlapping (vague dates) > within one
    year > within five years > further apart.

    The last two levels keep fixed small m values: expectation maximisation cannot tell a
    match whose dates lie years apart from a namesake (when the name is most of the
    evidence) and learns far too much of both.

    Args:
        field: column prefix.
        vague_m: for dates that reports give at very different precision (an event: one
            witness gives the day, another the year), the fixed m of "same year, one date
            vaguer" (and a quarter of it for "overlapping vague dates"), and no typo level.
            Expectation maximisation, learning from the many precise pairs, would otherwise
            take every vague report for a non-match. None: all trained (birth dates).
    """
    p = field
    gap = f"(greatest({p}_lo_l, {p}_lo_r) - least({p}_hi_l, {p}_hi_r))"
    width_l, width_r = f"({p}_hi_l - {p}_lo_l)", f"({p}_hi_r - {p}_lo_r)"
    same_year = level(f"{gap} <= 0 AND {width_l} <= 366 AND {width_r} <= 366", "same year")
    overlapping = level(f"{gap} <= 0", "overlapping ranges")
    typo = [
        cll.And(
            level(f"{width_l} = 0 AND {width_r} = 0", "both exact days"),
            cll.LevenshteinLevel(f"{p}_edtf", 2),
        ).configure(label_for_charts="date typo")
    ]
    if vague_m is not None:
        same_year.configure(label_for_charts="same year, one date vaguer",
                            m_probability=vague_m, fix_m_probability=True)
        overlapping.configure(label_for_charts="overlapping vague dates",
                              m_probability=vague_m / 4, fix_m_probability=True)
        typo = []
    return cl.CustomComparison(
        output_column_name=p,
        comparison_description="uncertain date (range overlap)",
        comparison_levels=[
            level(f"{p}_lo_l IS NULL OR {p}_lo_r IS NULL", "date missing").configure(
                is_null_level=True
            ),
            level(f"{p}_edtf_l = {p}_edtf_r AND {width_l} = 0", "same day"),
            level(f"{gap} <= 0 AND {width_l} <= 31 AND {width_r} <= 31", "same month"),
            *typo,
            same_year,
            overlapping,
            level(f"{gap} <= 366", "within a year"),
            level(f"{gap} <= 1827", "within five years").configure(
                m_probability=0.01, fix_m_probability=True
            ),
            cll.ElseLevel().configure(
                label_for_charts="dates far apart", m_probability=0.003, fix_m_probability=True
            ),
        ],
    )


def place_comparison(field: str, *, vague_m: float | None = None) -> ComparisonCreator:
    """A place by the hierarchy: same county or city > same province > different.

    Args:
        field: column prefix.
        vague_m: for places that reports give at different levels (an event: one witness
            names the town, another the province), split "same province" into "one place
            vaguer" (this fixed m, as for vague dates) and "different places" (trained).
    """
    p = field
    provinces_agree = f"({p}_prov_l = {p}_prov_r OR {p}_prov_l IS NULL OR {p}_prov_r IS NULL)"
    vaguer = []
    same_province = "same province"
    if vague_m is not None:
        vaguer = [
            level(
                f"{p}_prov_l = {p}_prov_r AND ({p}_local_l IS NULL OR {p}_local_r IS NULL)",
                "same province, one place vaguer",
            ).configure(m_probability=vague_m, fix_m_probability=True)
        ]
        same_province = "same province, different places"
    return cl.CustomComparison(
        output_column_name=p,
        comparison_description="place (hierarchy)",
        comparison_levels=[
            level(
                f"({p}_prov_l IS NULL AND {p}_local_l IS NULL)"
                f" OR ({p}_prov_r IS NULL AND {p}_local_r IS NULL)",
                "place missing",
            ).configure(is_null_level=True),
            level(f"{p}_local_l = {p}_local_r AND {provinces_agree}", "same county or city"),
            *vaguer,
            level(f"{p}_prov_l = {p}_prov_r", same_province),
            cll.ElseLevel().configure(label_for_charts="different places"),
        ],
    )


def sex_comparison(field: str = "sex") -> ComparisonCreator:
    """Sex: same > different; unknown is missing."""
    return cl.CustomComparison(
        output_column_name=field,
        comparison_description="sex",
        comparison_levels=[
            cll.NullLevel(field).configure(label_for_charts="sex unknown"),
            level(f"{field}_l = {field}_r", "same sex"),
            cll.ElseLevel().configure(label_for_charts="different sex"),
        ],
    )


def identifier_comparison(field: str) -> ComparisonCreator:
    """An identifying number: exact > one edit > two edits > different."""
    return cl.CustomComparison(
        output_column_name=field,
        comparison_description="identifier",
        comparison_levels=[
            cll.NullLevel(field).configure(label_for_charts="identifier missing"),
            cll.ExactMatchLevel(field).configure(label_for_charts="same identifier"),
            cll.LevenshteinLevel(field, 1).configure(label_for_charts="one edit apart"),
            cll.LevenshteinLevel(field, 2).configure(label_for_charts="two edits apart"),
            cll.ElseLevel().configure(label_for_charts="different identifier"),
        ],
    )


def code_comparison(field: str) -> ComparisonCreator:
    """A short code (postcode, house number, region): exact > one edit > different."""
    return cl.CustomComparison(
        output_column_name=field,
        comparison_description="code",
        comparison_levels=[
            cll.NullLevel(field).configure(label_for_charts=f"{field} missing"),
            cll.ExactMatchLevel(field, term_frequency_adjustments=True).configure(
                label_for_charts=f"same {field}"
            ),
            cll.LevenshteinLevel(field, 1).configure(
                label_for_charts=f"{field} one edit apart"
            ),
            cll.ElseLevel().configure(label_for_charts=f"different {field}"),
        ],
    )


def text_comparison(field: str) -> ComparisonCreator:
    """Free text such as a street or town name: exact > close > similar > different."""
    return cl.CustomComparison(
        output_column_name=field,
        comparison_description="text",
        comparison_levels=[
            cll.NullLevel(field).configure(label_for_charts=f"{field} missing"),
            cll.ExactMatchLevel(field, term_frequency_adjustments=True).configure(
                label_for_charts=f"same {field}"
            ),
            cll.JaroWinklerLevel(field, 0.92).configure(label_for_charts=f"{field} close"),
            cll.JaroWinklerLevel(field, 0.8).configure(label_for_charts=f"{field} similar"),
            cll.ElseLevel().configure(label_for_charts=f"different {field}"),
        ],
    )
