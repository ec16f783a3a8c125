"""What is compared: a schema names the fields of a record and what kind each one is.

Each kind knows how to turn raw columns into feature columns (``prepare``), which Splink
comparison to use, and which blocking keys it offers. ``PERSONS`` is the schema of the
plain-file mode and of archive persons; other record types (events, outside data sets such as
FEBRL) declare their own with the same kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from sillok.linkage import comparisons as cmp
from sillok.linkage.comparisons import ComparisonCreator
from sillok.linkage.features import (
    date_features,
    name_features,
    name_parts_features,
    place_features,
    sex_feature,
)
from sillok.names import fold

FieldKind = Literal[
    "person_name", "person_name_parts", "date", "place", "sex", "identifier", "code", "text"
]
FIELD_KINDS: tuple[str, ...] = (
    "person_name", "person_name_parts", "date", "place", "sex", "identifier", "code", "text"
)
UNIQUE_ID = "unique_id"


@dataclass(frozen=True)
class FieldSpec:
    """One compared field.

    Attributes:
        name: the field's name; its feature columns are prefixed with it.
        kind: one of ``FIELD_KINDS``.
        columns: the raw input columns it reads: one column for most kinds; for
            ``person_name`` the name and optionally a Hangul name; for
            ``person_name_parts`` the given name and the family name.
    """

    name: str
    kind: FieldKind
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}; expected one of {FIELD_KINDS}")


@dataclass(frozen=True)
class Schema:
    """The fields of a record type and the rules that pick candidate pairs.

    Attributes:
        name: the record type (``persons``).
        fields: compared fields.
        id_column: the input column holding record ids.
        blocking_rules: SQL rules over feature columns (``l.x = r.x``); a pair is scored when
            any rule holds. Empty: derived from the fields (see ``default_blocking_rules``).
        large_blocking_rules: tighter rules for when ``blocking_rules`` would make too many
            candidate pairs (``LinkageSettings.max_candidate_pairs``). Empty: derived.
        training_rules: blocking rules for expectation maximisation; each trains the
            comparisons it does not use. Empty: derived from the fields.
        deterministic_rules: rules that admit almost only true matches, to estimate the
            share of matching pairs. Empty: derived from the fields.
    """

    name: str
    fields: tuple[FieldSpec, ...]
    id_column: str = "id"
    blocking_rules: tuple[str, ...] = ()
    large_blocking_rules: tuple[str, ...] = ()
    training_rules: tuple[str, ...] = ()
    deterministic_rules: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = field(default=())

    def field_of_kind(self, *kinds: str) -> FieldSpec | None:
        """The first field of one of the given kinds, if any."""
        return next((f for f in self.fields if f.kind in kinds), None)

    def input_columns(self) -> list[str]:
        """Every raw input column the schema reads, id first."""
        cols = [self.id_column]
        for spec in self.fields:
            cols.extend(c for c in spec.columns if c not in cols)
        return cols

    def comparisons(self) -> list[ComparisonCreator]:
        """The Splink comparison of each field, in field order."""
        return [_COMPARISONS[f.kind](f.name) for f in self.fields]

    def blocking(self, large: bool = False) -> list[str]:
        """The blocking rules to generate predictions (the tighter set when ``large``)."""
        if large:
            return list(self.large_blocking_rules) or default_blocking_rules(self, large=True)
        return list(self.blocking_rules) or default_blocking_rules(self)

    def selective_blocking(self) -> list[str]:
        """Rules worth adding only where they are selective: the same value of a code field
        (a postcode, not a state). The model keeps each one that makes few pairs per record.
        Empty when ``blocking_rules`` is given."""
        if self.blocking_rules:
            return []
        return [f"l.{f.name} = r.{f.name}" for f in self.fields if f.kind == "code"]

    def training(self) -> list[str]:
        """The blocking rules for expectation maximisation."""
        return list(self.training_rules) or default_training_rules(self)

    def deterministic(self) -> list[str]:
        """Near-certain match rules for the prior."""
        return list(self.deterministic_rules) or default_deterministic_rules(self)


_COMPARISONS: dict[str, Callable[[str], ComparisonCreator]] = {
    "person_name": cmp.person_name_comparison,
    "person_name_parts": cmp.person_name_comparison,
    "date": cmp.date_comparison,
    "place": cmp.place_comparison,
    "sex": cmp.sex_comparison,
    "identifier": cmp.identifier_comparison,
    "code": cmp.code_comparison,
    "text": cmp.text_comparison,
}

PERSONS = Schema(
    name="persons",
    fields=(
        FieldSpec("name", "person_name", ("name", "name_hangul")),
        FieldSpec("birth", "date", ("birth",)),
        FieldSpec("sex", "sex", ("sex",)),
        FieldSpec("origin", "place", ("origin",)),
    ),
)


def default_blocking_rules(schema: Schema, large: bool = False) -> list[str]:
    """Candidate pairs: same name key; swapped name order; the same surname, start of the
    given name and birth year (a misspelt given name); the same given name and birth year (a
    misspelt surname); the same exact birth day; the same identifier. Codes such as a
    postcode come from ``Schema.selective_blocking``.

    Each rule is an equality join, so blocks stay small: surname and birth year alone would
    not (Kim is a fifth of all Koreans: a million records would give 800 million pairs).
    With ``large``, every name rule also needs birth years at most one apart or the same
    province: in a very large file a shared name with nothing else to back it cannot reach a
    linking probability anyway, and such blocks hold most of the pairs (docs/linkage.md).
    """
    rules: list[str] = []
    name = schema.field_of_kind("person_name", "person_name_parts")
    date = schema.field_of_kind("date")
    place = schema.field_of_kind("place")
    year = f" AND l.{date.name}_year = r.{date.name}_year" if date is not None else ""
    # Birth years at most one apart (a witness is often a year off) share a two-year bin in
    # one of two binnings (1950-51, 1952-53... or 1951-52, 1953-54...): plain equalities,
    # counted and joined like the other rules.
    near = (
        [
            f" AND floor((l.{date.name}_year{shift}) / 2) = floor((r.{date.name}_year{shift}) / 2)"
            for shift in ("", " + 1")
        ]
        if date is not None
        else []
    )
    province = f" AND l.{place.name}_prov = r.{place.name}_prov" if place is not None else ""
    if name is not None:
        n = name.name
        if large and (year or province):
            rules.extend(f"l.{n}_key = r.{n}_key{extra}" for extra in (*near, province) if extra)
        else:
            rules.append(f"l.{n}_key = r.{n}_key")
        rules.append(f"l.{n}_ss = r.{n}_gk AND l.{n}_gk = r.{n}_ss")
        if not large:
            # The same given name and a surname that sounds alike but reads as two (So: 소,
            # Seo: 서; the DPRK writes 서 "So").
            rules.append(f"l.{n}_ss = r.{n}_ss AND l.{n}_gk = r.{n}_gk")
        if year:
            tighter = province if large else ""
            rules.append(
                f"l.{n}_sn = r.{n}_sn AND substr(l.{n}_gk, 1, 2) = substr(r.{n}_gk, 1, 2)"
                f"{year}{tighter}"
            )
            rules.append(f"l.{n}_gk = r.{n}_gk{year}{tighter}")
    for spec in schema.fields:
        if spec.kind == "identifier":
            rules.append(f"l.{spec.name} = r.{spec.name}")
        elif spec.kind == "date":
            rules.append(
                f"l.{spec.name}_edtf = r.{spec.name}_edtf AND l.{spec.name}_lo = l.{spec.name}_hi"
            )
    if not rules:
        raise ValueError(f"schema {schema.name!r} has no field to block on")
    return rules


def default_training_rules(schema: Schema) -> list[str]:
    """EM rules: one on the name key (trains every other field) and, when the record has an
    identifier or a code strong enough to stand in for the name, one on that with the date
    (trains the name). Without one, the name keeps its prior m values (``NAME_M_PRIORS``):
    EM on birth, sex and origin alone cannot tell matches from namesakes.
    """
    rules: list[str] = []
    name = schema.field_of_kind("person_name", "person_name_parts")
    date = schema.field_of_kind("date")
    if name is not None:
        rules.append(f"l.{name.name}_key = r.{name.name}_key")
    strong = [f for f in schema.fields if f.kind in ("identifier", "code")]
    if strong:
        key = f"l.{strong[0].name} = r.{strong[0].name}"
        rules.append(f"l.{date.name}_year = r.{date.name}_year AND {key}" if date else key)
    return rules or default_blocking_rules(schema)[:1]


def default_deterministic_rules(schema: Schema) -> list[str]:
    """Same spelling of the name and the same date, or the same identifier."""
    rules: list[str] = []
    name = schema.field_of_kind("person_name", "person_name_parts")
    date = schema.field_of_kind("date")
    if name is not None and date is not None:
        rules.append(
            f"l.{name.name}_full = r.{name.name}_full AND l.{date.name}_edtf = r.{date.name}_edtf"
        )
    for spec in schema.fields:
        if spec.kind == "identifier":
            rules.append(f"l.{spec.name} = r.{spec.name}")
    return rules or default_blocking_rules(schema)[:1]


# ---------------------------------------------------------------- feature columns


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _name_columns(spec: FieldSpec, frame: pd.DataFrame) -> dict[str, list[Any]]:
    first = frame[spec.columns[0]].map(_text) if spec.columns[0] in frame else None
    second = (
        frame[spec.columns[1]].map(_text)
        if len(spec.columns) > 1 and spec.columns[1] in frame
        else pd.Series([None] * len(frame), index=frame.index)
    )
    if first is None:
        first = pd.Series([None] * len(frame), index=frame.index)
    if spec.kind == "person_name_parts":
        feats = [name_parts_features(a, b) for a, b in zip(first, second, strict=True)]
    else:
        feats = [name_features(a, b) for a, b in zip(first, second, strict=True)]
    p = spec.name
    return {
        f"{p}_sn": [f.surname_key for f in feats],
        f"{p}_sn_all": [f.surname_keys for f in feats],
        f"{p}_ss": [f.surname_sound for f in feats],
        f"{p}_gf": [f.given_fold for f in feats],
        f"{p}_gk": [f.given_key for f in feats],
        f"{p}_full": [f.full_fold for f in feats],
        f"{p}_key": [
            None if f.surname_key is None or f.given_key is None
            else f"{f.surname_key}:{f.given_key}"
            for f in feats
        ],
        f"{p}_hg": [f.given_hangul for f in feats],
        f"{p}_strict": [f.strict for f in feats],
    }


def _date_columns(spec: FieldSpec, frame: pd.DataFrame) -> dict[str, list[Any]]:
    feats = [date_features(_text(v)) for v in frame[spec.columns[0]]]
    p = spec.name
    years = [
        None if f.lower is None or f.upper is None else _mid_year(f.lower, f.upper) for f in feats
    ]
    return {
        f"{p}_edtf": [f.edtf for f in feats],
        f"{p}_lo": [f.lower for f in feats],
        f"{p}_hi": [f.upper for f in feats],
        f"{p}_year": years,
    }


def _mid_year(lower: int, upper: int) -> int:
    from datetime import date

    return date.fromordinal((lower + upper) // 2).year


def _place_columns(spec: FieldSpec, frame: pd.DataFrame) -> dict[str, list[Any]]:
    feats = [place_features(_text(v)) for v in frame[spec.columns[0]]]
    return {
        f"{spec.name}_prov": [f.province for f in feats],
        f"{spec.name}_local": [f.local for f in feats],
    }


def _sex_columns(spec: FieldSpec, frame: pd.DataFrame) -> dict[str, list[Any]]:
    return {spec.name: [sex_feature(_text(v)) for v in frame[spec.columns[0]]]}


def _plain_columns(spec: FieldSpec, frame: pd.DataFrame) -> dict[str, list[Any]]:
    values = []
    for v in frame[spec.columns[0]]:
        text = _text(v)
        values.append((fold(text) or None) if text is not None else None)
    return {spec.name: values}


_PREPARERS: dict[str, Callable[[FieldSpec, pd.DataFrame], dict[str, list[Any]]]] = {
    "person_name": _name_columns,
    "person_name_parts": _name_columns,
    "date": _date_columns,
    "place": _place_columns,
    "sex": _sex_columns,
    "identifier": _plain_columns,
    "code": _plain_columns,
    "text": _plain_columns,
}


def prepare(schema: Schema, frame: pd.DataFrame) -> pd.DataFrame:
    """The feature table Splink links: ``unique_id`` (text) and each field's feature columns.

    Raw values must already be valid (``plainfile`` validates files); a date or sex that
    does not parse raises ``ValueError`` here.
    """
    columns: dict[str, Iterable[Any]] = {
        UNIQUE_ID: [str(v) for v in frame[schema.id_column]]
    }
    for spec in schema.fields:
        columns.update(_PREPARERS[spec.kind](spec, frame))
    for extra in schema.extra_columns:
        columns[extra] = list(frame[extra])
    out = pd.DataFrame(columns)
    # Nullable dtypes keep "missing" as NULL in DuckDB and Spark rather than NaN.
    for col in out.columns:
        if col.endswith(("_lo", "_hi", "_year")):
            out[col] = out[col].astype("Int64")
        elif col.endswith("_strict"):
            out[col] = out[col].astype("boolean")
        else:
            out[col] = out[col].astype("string")
    return out


def _block_key(rule: str) -> list[str] | None:
    """The key expressions of a rule made only of ``f(l.x) = f(r.x)`` terms, else None."""
    keys = []
    for term in re.split(r"\s+AND\s+", rule.strip(), flags=re.IGNORECASE):
        left, sep, right = term.partition(" = ")
        if not sep or "l." not in left or right.strip() != left.strip().replace("l.", "r."):
            return None
        keys.append(left.strip().replace("l.", ""))
    return keys


def count_candidate_pairs(prepared: list[pd.DataFrame], rules: list[str]) -> int:
    """An upper bound of the pairs the rules generate (their sum; overlaps counted twice).

    Counted with DuckDB from block sizes, without forming the pairs. Rules that are not
    plain equalities of the same expression on both sides (swapped names, filters) make few
    pairs and are not counted.
    """
    import duckdb

    con = duckdb.connect()
    for i, frame in enumerate(prepared):
        con.register(f"t{i}", frame)
    total = 0
    for rule in rules:
        keys = _block_key(rule)
        if keys is None:
            continue
        cols = ", ".join(f"{k} AS k{j}" for j, k in enumerate(keys))
        groups = ", ".join(f"k{j}" for j in range(len(keys)))
        not_null = " AND ".join(f"k{j} IS NOT NULL" for j in range(len(keys)))
        if len(prepared) == 1:
            sql = (
                f"SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM "
                f"(SELECT {cols} FROM t0) WHERE {not_null} GROUP BY {groups})"
            )
        else:
            sql = (
                f"SELECT sum(a.n * b.n) FROM "
                f"(SELECT {groups}, count(*) AS n FROM (SELECT {cols} FROM t0) "
                f"WHERE {not_null} GROUP BY {groups}) a JOIN "
                f"(SELECT {groups}, count(*) AS n FROM (SELECT {cols} FROM t1) "
                f"WHERE {not_null} GROUP BY {groups}) b USING ({groups})"
            )
        value = con.execute(sql).fetchone()
        total += int(value[0] or 0) if value else 0
    con.close()
    return total
