"""The linkage model: Splink settings from a schema, unsupervised training, scoring, reasons.

``LinkageModel`` wraps a Splink ``Linker``: ``fit`` prepares the features and trains
(see ``training``), ``predict`` scores the candidate pairs, ``score`` any one pair,
``explain`` says which fields moved a pair's score. ``dedupe`` runs the whole job and
clusters at a threshold.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sillok.linkage.clusters import DEFAULT_THRESHOLD, average_linkage_ids
from sillok.linkage.engines import EngineOptions, check_engine, database_api
from sillok.linkage.schema import UNIQUE_ID, Schema, count_candidate_pairs, prepare
from sillok.linkage.training import Progress, TrainingLog, copy_parameters, train

# A code field (postcode) joins the blocking rules when it pairs each record with at most
# this many others on average: a postcode does, a state or a house number does not.
SELECTIVE_PAIRS_PER_RECORD = 20
# Pairs between this and the threshold are worth a reviewer's look but are not linked; they
# also count in the average linkage of groups (a pair below the floor counts as 0).
DEFAULT_REVIEW_FLOOR = 0.3
# Match weights (bits) are rounded to this many decimals before the probability is computed:
# far below any real difference, far above the engines' floating-point noise (about 1e-13).
WEIGHT_DECIMALS = 9


@dataclass(frozen=True)
class LinkageSettings:
    """How a linkage job runs (one dataclass rather than many keyword arguments).

    Attributes:
        threshold: match probability from which a pair is linked (clusters).
        review_floor: lowest match probability kept as a candidate pair.
        engine: ``duckdb`` or ``spark``.
        engine_options: threads, memory and Spark session options.
        u_max_pairs: random pairs sampled to estimate u (how often fields agree by chance).
        em_max_pairs: cap on pairs per EM training rule (None: all blocked pairs).
        seed: random seed for the u sample, so a run can be repeated.
        prior_recall: assumed recall of the deterministic rules, for the first guess of the
            prior match rate.
        prior_iterations: rounds refining the prior match rate from the trained model (the
            expected number of matches among the candidate pairs over all pairs).
        correct_u: remove the matches hidden in the random sample from the u values (see
            ``training.refine_prior_and_u``).
        split_name_m: share the name's "same name" m among its spellings as the file's
            candidate pairs do (see ``training.split_name_m``).
        min_m: smallest m probability a trained level keeps, so that no single field can
            veto a match by more than about nine bits.
        em_max_iterations: cap on expectation-maximisation iterations per rule.
        train_sample: train on at most this many records, drawn at random.
        max_candidate_pairs: when the schema's blocking rules would make more candidate
            pairs than this, its tighter rules are used instead (see ``Schema.blocking``).
        predict_chunks: split scoring into this many chunks per side to bound memory.
    """

    threshold: float = DEFAULT_THRESHOLD
    review_floor: float = DEFAULT_REVIEW_FLOOR
    engine: str = "duckdb"
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    u_max_pairs: float = 1e6
    em_max_pairs: float | None = 2e6
    seed: int = 7
    prior_recall: float = 0.6
    prior_iterations: int = 3
    correct_u: bool = True
    split_name_m: bool = True
    min_m: float = 0.002
    em_max_iterations: int = 20
    train_sample: int = 100_000
    max_candidate_pairs: float = 2.5e7
    predict_chunks: int = 1

    def __post_init__(self) -> None:
        for name in ("threshold", "review_floor"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be between 0 and 1 (exclusive), not {value!r}")
        if self.review_floor > self.threshold:
            raise ValueError(
                f"review_floor {self.review_floor} is above the threshold {self.threshold}"
            )
        check_engine(self.engine)


@dataclass(frozen=True)
class Evidence:
    """How one field moved a pair's score.

    Attributes:
        field: the compared field (``name``, ``birth``...).
        level: what the comparison found, in words ("same name, other spelling").
        weight: log2 Bayes factor: positive pulls towards a match, negative away.
    """

    field: str
    level: str
    weight: float


@dataclass
class DedupeResult:
    """The outcome of ``dedupe``: clusters, scored pairs and how long each step took."""

    clusters: dict[str, str]
    pairs: pd.DataFrame
    timings: dict[str, float]
    model: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    blocking_rules: list[str] = field(default_factory=list)


def _silence_splink() -> None:
    for name in ("splink", "py4j", "pyspark"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _pair_count(frames: Sequence[pd.DataFrame], link_type: str) -> float:
    if link_type == "dedupe_only":
        n = sum(len(f) for f in frames)
        return n * (n - 1) / 2
    return float(math.prod(len(f) for f in frames))


class LinkageModel:
    """A Splink model over one schema; see the module docstring."""

    def __init__(self, schema: Schema, settings: LinkageSettings | None = None) -> None:
        self.schema = schema
        self.settings = settings or LinkageSettings()
        self.log = TrainingLog()
        self._linker: Any = None
        self._link_type = "dedupe_only"
        self._labels: dict[str, dict[int, str]] = {}
        self._blocking: list[str] = schema.blocking()

    @property
    def timings(self) -> dict[str, float]:
        """Seconds spent in each step so far."""
        return self.log.timings

    @property
    def warnings(self) -> list[str]:
        """Things a user should know about the run (e.g. a training rule skipped)."""
        return self.log.warnings

    def fit(
        self,
        records: pd.DataFrame | Sequence[pd.DataFrame],
        progress: Progress | None = None,
    ) -> LinkageModel:
        """Prepare features and train without labels.

        Training always runs on DuckDB, on at most ``settings.train_sample`` records drawn
        at random: the estimates need a sample, not the whole data, and the same code path
        on every engine gives the same model. Scoring runs on the chosen engine.

        Args:
            records: one frame to deduplicate, or several to link to each other (link only).
            progress: called with the name of each step as it starts.
        """
        _silence_splink()
        frames = [records] if isinstance(records, pd.DataFrame) else list(records)
        self._link_type = "dedupe_only" if len(frames) == 1 else "link_only"
        started = self.log.step(progress, "preparing features")
        prepared = [prepare(self.schema, frame) for frame in frames]
        self.log.done("features", started)
        self._blocking = self._choose_blocking(prepared, warn=True)
        sample = self._training_sample(prepared)
        # The sample picks its own rules: the prior is estimated from the pairs blocking
        # finds, so the training rules should miss as few matches as the sample allows.
        training_rules = self._blocking if sample is prepared else self._choose_blocking(sample)
        trainer = self._make_linker(sample, "duckdb", training_rules)
        train(
            trainer,
            self.schema,
            self.settings,
            _pair_count(sample, self._link_type),
            self.log,
            progress,
            names_blocked=training_rules[: len(self.schema.blocking())] == self.schema.blocking(),
        )
        if self.settings.engine == "duckdb" and sample is prepared:
            self._linker = trainer
        else:
            started = self.log.step(progress, f"loading the records into {self.settings.engine}")
            self._linker = self._make_linker(prepared, self.settings.engine, self._blocking)
            copy_parameters(trainer, self._linker)
            self.log.done("engine", started)
        self._labels = self._level_labels()
        return self

    def _choose_blocking(self, prepared: list[pd.DataFrame], warn: bool = False) -> list[str]:
        rules = self.schema.blocking()
        pairs = count_candidate_pairs(prepared, rules)
        if pairs <= self.settings.max_candidate_pairs:
            records = sum(len(df) for df in prepared)
            return rules + [
                rule
                for rule in self.schema.selective_blocking()
                if count_candidate_pairs(prepared, [rule]) <= SELECTIVE_PAIRS_PER_RECORD * records
            ]
        tight = self.schema.blocking(large=True)
        if warn:
            self.log.warnings.append(
                f"the blocking rules would compare about {pairs:,} pairs; using the tighter "
                f"rules for large files ({count_candidate_pairs(prepared, tight):,} pairs)"
            )
        return tight

    @property
    def linker(self) -> Any:
        """The trained Splink linker (for label-based evaluation and tuning)."""
        if self._linker is None:
            raise RuntimeError("fit the model first")
        return self._linker

    @property
    def blocking_rules(self) -> list[str]:
        """The blocking rules this model scores with (chosen by ``fit``)."""
        return list(self._blocking)

    def _training_sample(self, prepared: list[pd.DataFrame]) -> list[pd.DataFrame]:
        total = sum(len(df) for df in prepared)
        limit = self.settings.train_sample
        if total <= limit:
            return prepared
        share = limit / total
        return [
            df.sample(frac=share, random_state=self.settings.seed).reset_index(drop=True)
            for df in prepared
        ]

    def _make_linker(self, prepared: list[pd.DataFrame], engine: str, rules: list[str]) -> Any:
        from splink import Linker, SettingsCreator

        api = database_api(engine, self.settings.engine_options)
        tables = [api.register(_to_engine_table(api, df)) for df in prepared]
        creator = SettingsCreator(
            link_type=self._link_type,  # type: ignore[arg-type]
            unique_id_column_name=UNIQUE_ID,
            comparisons=list[Any](self.schema.comparisons()),
            blocking_rules_to_generate_predictions=list[Any](rules),
            retain_intermediate_calculation_columns=True,
            # Splink keeps the level (gamma) columns only with the matching columns.
            retain_matching_columns=True,
            max_iterations=self.settings.em_max_iterations,
        )
        return Linker(tables if len(tables) > 1 else tables[0], creator, log_level=None)

    def _level_labels(self) -> dict[str, dict[int, str]]:
        labels: dict[str, dict[int, str]] = {}
        for comparison in self._linker._settings_obj.comparisons:
            labels[comparison.output_column_name] = {
                level.comparison_vector_value: level.label_for_charts
                for level in comparison.comparison_levels
            }
        return labels

    # ------------------------------------------------------------ scoring

    def predict(
        self, threshold: float | None = None, progress: Progress | None = None
    ) -> pd.DataFrame:
        """Scored candidate pairs at or above ``threshold`` (default: the review floor).

        Columns: ``left_id``, ``right_id`` (ordered as text), ``match_probability``,
        ``match_weight``, and per field ``gamma_<field>`` (level) and ``mw_<field>``
        (match weight: log2 Bayes factor, term frequencies included), sorted by descending
        probability.
        """
        if self._linker is None:
            raise RuntimeError("fit the model before predicting")
        floor = self.settings.review_floor if threshold is None else threshold
        started = self.log.step(progress, "scoring candidate pairs")
        chunks = self.settings.predict_chunks
        scored = self._linker.inference.predict(
            threshold_match_probability=floor,
            num_chunks_left=chunks if chunks > 1 else None,
            num_chunks_right=chunks if chunks > 1 else None,
            warning_mode="never",
        )
        available = {c.unquote().name.lower() for c in scored.columns}
        # Only the columns needed cross into Python: a million-record run keeps millions.
        frame = self._linker.misc.query_sql(
            f"SELECT {', '.join(self._wanted_columns(available))} FROM {scored.physical_name}",
            output_type="pandas",
        )
        scored.drop_table_from_database_and_remove_from_cache()
        self.log.done("predict", started)
        return self._tidy(frame)

    def _wanted_columns(self, available: set[str]) -> list[str]:
        """The columns of a scored table that ``_tidy`` reads (term-frequency weights where
        the table has them)."""
        wanted = [f"{UNIQUE_ID}_l", f"{UNIQUE_ID}_r", "match_probability", "match_weight"]
        for name in self._labels:
            wanted += [f"gamma_{name}", f"mw_{name}"]
            if f"mw_tf_adj_{name}".lower() in available:
                wanted.append(f"mw_tf_adj_{name}")
        return wanted

    def _tidy(self, frame: pd.DataFrame) -> pd.DataFrame:
        left = frame[f"{UNIQUE_ID}_l"].astype(str)
        right = frame[f"{UNIQUE_ID}_r"].astype(str)
        swap = left > right
        out = pd.DataFrame(
            {
                "left_id": left.where(~swap, right),
                "right_id": right.where(~swap, left),
                "match_probability": frame["match_probability"].astype(float),
                "match_weight": frame["match_weight"].astype(float),
            }
        )
        for name in self._labels:
            out[f"gamma_{name}"] = frame[f"gamma_{name}"].astype(int)
            weight = frame[f"mw_{name}"].astype(float)
            tf_col = f"mw_tf_adj_{name}"
            if tf_col in frame:
                weight = weight + frame[tf_col].astype(float).fillna(0.0)
            out[f"mw_{name}"] = weight.round(WEIGHT_DECIMALS)
        # Each engine turns the weights into a probability with its own log2 and pow, and
        # training's parallel sums differ from run to run, all in the last bits; clustering
        # breaks ties between equal probabilities by id, so last bits would split groups
        # differently. Recomputed here from the rounded weights, DuckDB and Spark give the
        # same probabilities, bit for bit, and the same clusters.
        prior = float(self._linker._settings_obj._probability_two_random_records_match)
        total = round(math.log2(prior / (1 - prior)), WEIGHT_DECIMALS) + sum(
            (out[f"mw_{name}"] for name in self._labels), pd.Series(0.0, index=out.index)
        )
        out["match_weight"] = total
        with np.errstate(over="ignore"):
            out["match_probability"] = 1 / (1 + np.exp2(-total.to_numpy(dtype=float)))
        out = out.drop_duplicates(["left_id", "right_id"])
        return out.sort_values(
            ["match_probability", "left_id", "right_id"], ascending=[False, True, True]
        ).reset_index(drop=True)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
        """Score given pairs of the model's records, whether blocking pairs them or not.

        Returns the columns of ``predict`` for each pair (in no particular order), with no
        threshold: reviewed pairs below the review floor are scored too. Every id must be a
        record of the fitted frame; a pair with an unknown id is left out.
        """
        if self._linker is None:
            raise RuntimeError("fit the model before scoring")
        if not pairs:
            return self._tidy(pd.DataFrame(columns=self._wanted_columns(set())))
        from splink.internals.accuracy import predictions_from_sample_of_pairwise_labels_sql
        from splink.internals.pipeline import CTEPipeline
        from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

        name = f"__sillok_pairs_{uuid.uuid4().hex[:12]}"
        table = self._linker.table_management.register_table(
            pd.DataFrame({
                f"{UNIQUE_ID}_l": [str(a) for a, _ in pairs],
                f"{UNIQUE_ID}_r": [str(b) for _, b in pairs],
                "clerical_match_score": [1.0] * len(pairs),
            }),
            name,
            overwrite=True,
        )
        try:
            pipeline = CTEPipeline()
            enqueue_df_concat_with_tf(self._linker, pipeline)
            pipeline.enqueue_list_of_sqls(
                predictions_from_sample_of_pairwise_labels_sql(self._linker, name)
            )
            scored = self._linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
            available = {c.unquote().name.lower() for c in scored.columns}
            frame = self._linker.misc.query_sql(
                f"SELECT {', '.join(self._wanted_columns(available))} "
                f"FROM {scored.physical_name}",
                output_type="pandas",
            )
            scored.drop_table_from_database_and_remove_from_cache()
        finally:
            table.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        return self._tidy(frame)

    def score(self, left: dict[str, Any], right: dict[str, Any]) -> pd.Series:
        """Score one pair of raw records (schema input columns), blocked or not.

        The row has the columns of ``predict``; pass it to ``explain``. Useful to show a
        reviewer why two records the blocking rules never paired are, or are not, alike.
        """
        if self._linker is None:
            raise RuntimeError("fit the model before scoring")
        prepared = prepare(self.schema, pd.DataFrame([left, right]))
        records = [
            {k: _plain(v) for k, v in row.items()} for row in prepared.to_dict("records")
        ]
        scored = self._linker.inference.score_pair(records[0], records[1])
        frame = scored.as_pandas_dataframe()
        scored.drop_table_from_database_and_remove_from_cache()
        return self._tidy(frame).iloc[0]

    def explain(self, pair: pd.Series | dict[str, Any]) -> list[Evidence]:
        """Which fields moved a scored pair's probability, the strongest first."""
        evidence = []
        for name, levels in self._labels.items():
            gamma = int(pair[f"gamma_{name}"])
            weight = float(pair[f"mw_{name}"])
            evidence.append(Evidence(name, levels.get(gamma, str(gamma)), round(weight, 2)))
        return sorted(evidence, key=lambda e: -abs(e.weight))

    def model_dict(self) -> dict[str, Any]:
        """The trained Splink model as a JSON-ready dict (to version it with the results)."""
        if self._linker is None:
            raise RuntimeError("fit the model first")
        result: dict[str, Any] = self._linker.misc.save_model_to_json()
        return result


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value (NA -> None, numpy ints -> int)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _to_engine_table(api: Any, frame: pd.DataFrame) -> Any:
    """Frames go to Spark with an explicit schema: all-null columns have no type to infer."""
    if type(api).__name__ != "SparkAPI":
        return frame
    from pyspark.sql import types as T

    fields = []
    for col, dtype in frame.dtypes.items():
        if str(dtype) == "Int64":
            spark_type: Any = T.LongType()
        elif str(dtype) == "boolean":
            spark_type = T.BooleanType()
        else:
            spark_type = T.StringType()
        fields.append(T.StructField(str(col), spark_type, True))
    # From the frame itself, through Arrow: a quarter of the time of Python tuples at 100,000
    # records, and no second copy of the records as Python objects in the driver. Arrow
    # gives a LocalRelation, the records inside the query plan in the driver's heap (scoring
    # 100,000 records then ran out of a 2g heap); a local checkpoint moves them into the
    # executors' block stores and leaves the plans a plain scan.
    local = api.spark.createDataFrame(frame, schema=T.StructType(fields))
    return local.localCheckpoint(eager=True)


def dedupe(
    records: pd.DataFrame,
    schema: Schema,
    settings: LinkageSettings | None = None,
    progress: Progress | None = None,
) -> DedupeResult:
    """Deduplicate records end to end: train, score, cluster at the settings' threshold.

    Clusters are formed by average linkage over the scored pairs (``average_linkage_ids``):
    two groups of records are joined while the mean match probability between them reaches
    the threshold. Returns clusters for every record (record id -> cluster id, the smallest
    member id) and the scored pairs down to the review floor.
    """
    ids = [str(v) for v in records[schema.id_column]]
    if len(ids) < 2:
        empty = pd.DataFrame(columns=["left_id", "right_id", "match_probability", "match_weight"])
        return DedupeResult({i: i for i in ids}, empty, {}, {}, ["fewer than two records"])
    model = LinkageModel(schema, settings)
    model.fit(records, progress)
    pairs = model.predict(progress=progress)
    started = model.log.step(progress, "clustering")
    clusters = average_linkage_ids(
        ids,
        zip(pairs["left_id"], pairs["right_id"], pairs["match_probability"], strict=True),
        model.settings.threshold,
    )
    model.log.done("cluster", started)
    return DedupeResult(
        clusters=clusters,
        pairs=pairs,
        timings=dict(model.timings),
        model=model.model_dict(),
        warnings=list(model.warnings),
        blocking_rules=model.blocking_rules,
    )
