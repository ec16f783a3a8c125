"""Event linkage on events with known truth, from a generator of its own.

The events that event linkage was developed on (``tests/test_links_events.py``) are few and
regular: the first report gives the day and the town in Hangul, the second the month in
English, the third the year and the province. This generator is written apart from them and
from Sillok's gazetteer, with other habits of witnesses and documenters:

- dates: the exact day, a day or a few days off, the month, the season (EDTF ``2009-21``),
  the year, "about" the year, the year misremembered by one, or nothing; given on the event
  or only on its acts;
- places: its own table of towns written by hand in Hangul (with and without 시/군),
  Revised Romanization, McCune-Reischauer (with breves or apostrophes) and older or press
  spellings (some of which no gazetteer knows), or only the province in one of its
  spellings, or nothing; on the event or only on its acts;
- act types: a documenter's near-synonym for the main act (an execution coded
  ``execution`` or ``public_execution``, a detention ``arbitrary_detention`` or
  ``inhumane_detention_conditions``), secondary acts left out or one added;
- titles: a Korean or English template, a paraphrase, the act alone, or none;
- victims: a report names some of the event's victims; a victim counts as shared only when
  the person records were linked (40% of them), else each report's victim is a record of
  its own;
- hard negatives: 20% of events repeat an earlier event's town and kind within two years
  (a market that saw several public executions).

Each true event is reported one to four times (one report: 35%). Printed as JSON: precision,
recall and F1 of the pairs at the default threshold (every candidate pair scored, pairs never
compared count as missed), the same for average-linkage clusters, the calibration (ECE and
ten bins), the true share of each vague level among matching pairs next to the m value the
model used, and seconds.

    .venv/bin/python bench/bench_event_linkage.py                      # test seed 2
    .venv/bin/python bench/bench_event_linkage.py --reviewed 100,300 --bound
    .venv/bin/python bench/bench_event_linkage.py --seed 1 --vague-m 0.05,0.1,0.2,0.4
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sillok.linkage.clusters import average_linkage_ids
from sillok.linkage.evaluate import cluster_scores, pairs_from_list, pairwise_scores
from sillok.linkage.model import (
    DEFAULT_REVIEW_FLOOR,
    DEFAULT_THRESHOLD,
    LinkageModel,
    LinkageSettings,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_linkage_eval import reliability  # noqa: E402

# (province spellings, town spellings): Hangul forms first, then romanizations; a spelling
# with a "?" in front is one that older or press texts use and a gazetteer may not know.
TOWNS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("양강도", "Ryanggang", "Yanggang-do"), ("혜산", "혜산시", "Hyesan", "Hyesan-si", "?Haesan")),
    (("양강도", "Ryanggang Province"), ("삼지연", "Samjiyon", "Samjiyŏn")),
    (("함경북도", "North Hamgyong", "Hamgyŏng-bukto"),
     ("회령", "회령시", "Hoeryong", "Hoeryŏng", "?Hweryong")),
    (("함경북도", "North Hamgyong"), ("청진", "청진시", "Chongjin", "Ch'ŏngjin", "?Chungjin")),
    (("함경북도", "Hamgyongbuk-do"), ("무산", "무산군", "Musan", "Musan-gun")),
    (("함경북도", "North Hamgyŏng"), ("온성", "온성군", "Onsong", "Onsŏng")),
    (("함경북도", "North Hamgyong"), ("김책", "김책시", "Kimchaek", "Kimch'aek")),
    (("함경남도", "South Hamgyong", "Hamgyŏng-namdo"),
     ("함흥", "함흥시", "Hamhung", "Hamhŭng", "?Hamheung")),
    (("함경남도", "South Hamgyong"), ("단천", "단천시", "Tanchon", "Tanch'ŏn", "?Dancheon")),
    (("평안북도", "North Pyongan", "P'yŏngan-bukto"),
     ("신의주", "신의주시", "Sinuiju", "Sinŭiju", "?Shinuiju")),
    (("평안남도", "South Pyongan"), ("개천", "개천시", "Kaechon", "Kaech'ŏn", "?Gaecheon")),
    (("평안남도", "South Pyongan"), ("평성", "평성시", "Pyongsong", "P'yŏngsŏng")),
    (("자강도", "Chagang", "Jagang-do"), ("강계", "강계시", "Kanggye", "?Ganggye")),
    (("자강도", "Chagang Province"), ("만포", "만포시", "Manpo")),
    (("황해북도", "North Hwanghae"), ("사리원", "사리원시", "Sariwon", "Sariwŏn")),
    (("강원도", "Kangwon", "Gangwon-do"), ("원산", "원산시", "Wonsan", "Wŏnsan")),
)
# (name, coded acts (main first), main-act synonyms a documenter may choose, Korean and
# English title templates, a paraphrase)
KINDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, str, str], ...] = (
    ("execution", ("public_execution",), ("execution",),
     "{ko} 공개총살", "Public shooting in {en}", "Execution at the {en} market"),
    ("roundup", ("arbitrary_detention", "torture"), ("inhumane_detention_conditions",),
     "{ko} 집단 체포", "Round-up in {en}", "Mass arrests, {en}"),
    ("repatriation", ("forced_repatriation", "arbitrary_detention"),
     ("punishment_for_leaving_country",),
     "{ko} 강제송환", "Repatriation to {en}", "Returned from China to {en}"),
    ("trial", ("public_trial", "public_execution"), ("execution",),
     "{ko} 공개재판", "Public trial, {en}", "Mass rally and trial in {en}"),
    ("disappearance", ("enforced_disappearance",), ("abduction",),
     "{ko} 실종", "Disappearance in {en}", "Taken away at night, {en}"),
    ("labour", ("forced_labour", "denial_of_food"), ("inhumane_detention_conditions",),
     "{ko} 강제노동", "Forced labour in {en}", "Labour brigade, {en}"),
)
EXTRA_ACTS = ("torture", "guilt_by_association", "sexual_violence", "denial_of_medical_care")


@dataclass
class Truth:
    """One true event: what every report of it distorts."""

    number: int
    town: int
    kind: int
    day: date
    victims: list[int] = field(default_factory=list)


@dataclass
class Reports:
    """The generated records: events and acts as the store reads them, places by id."""

    events: list[tuple[int, str | None, str | None, int | None]] = field(default_factory=list)
    acts: list[tuple[int, str, str | None, int | None, int | None, int | None]] = field(
        default_factory=list)
    places: list[str] = field(default_factory=list)
    truth: dict[str, int] = field(default_factory=dict)
    victims: dict[int, int] = field(default_factory=dict)

    def place(self, text: str) -> int:
        """A place id for a spelling."""
        self.places.append(text)
        return len(self.places) - 1


def _date(rng: random.Random, day: date) -> str | None:
    """How one witness gives the date of an event."""
    roll = rng.random()
    if roll < 0.30:
        return day.isoformat()
    if roll < 0.40:
        return (day + timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3)))).isoformat()
    if roll < 0.58:
        return f"{day.year}-{day.month:02d}"
    if roll < 0.66:
        season = (24, 21, 21, 21, 22, 22, 22, 23, 23, 23, 24, 24)[day.month - 1]
        return f"{day.year - (1 if day.month < 3 and season == 24 else 0)}-{season}"
    if roll < 0.80:
        return str(day.year)
    if roll < 0.86:
        return f"{day.year}~"
    if roll < 0.91:
        return str(day.year + rng.choice((-1, 1)))
    return None


def _place(rng: random.Random, town: int) -> str | None:
    """How one witness names the place: the town in some spelling, the province, nothing."""
    provinces, towns = TOWNS[town]
    roll = rng.random()
    if roll < 0.70:
        return rng.choice(towns).lstrip("?")
    if roll < 0.80:
        return f"{rng.choice(towns).lstrip('?')}, {rng.choice(provinces)}"
    if roll < 0.92:
        return rng.choice(provinces)
    return None


def _acts(rng: random.Random, kind: int) -> list[str]:
    """The act types a documenter codes for one report."""
    _name, coded, synonyms, *_ = KINDS[kind]
    main = rng.choice(synonyms) if rng.random() < 0.25 else coded[0]
    acts = [main] + [a for a in coded[1:] if rng.random() < 0.6]
    if rng.random() < 0.10:
        acts.append(rng.choice(EXTRA_ACTS))
    return acts


def _title(rng: random.Random, truth: Truth) -> str | None:
    _name, coded, _syn, korean, english, paraphrase = KINDS[truth.kind]
    towns = TOWNS[truth.town][1]
    ko, en = towns[0], next(t for t in towns if t.isascii()).lstrip("?")
    roll = rng.random()
    if roll < 0.30:
        return korean.format(ko=ko)
    if roll < 0.50:
        return english.format(en=en)
    if roll < 0.60:
        return paraphrase.format(en=en)
    if roll < 0.70:
        return coded[0].replace("_", " ")
    return None


def generate(events: int, seed: int) -> Reports:
    """``events`` true events, each reported one to four times (see the module docstring)."""
    rng = random.Random(seed)
    out = Reports()
    truths: list[Truth] = []
    next_victim = 0
    for number in range(events):
        if truths and rng.random() < 0.20:
            base = rng.choice(truths)
            day = base.day + timedelta(days=rng.randint(20, 700) * rng.choice((-1, 1)))
            truth = Truth(number, base.town, base.kind, day)
        else:
            truth = Truth(number, rng.randrange(len(TOWNS)), rng.randrange(len(KINDS)),
                          date(1995, 1, 1) + timedelta(days=rng.randrange(25 * 365)))
        truth.victims = list(range(next_victim, next_victim + rng.randint(1, 5)))
        next_victim += len(truth.victims)
        truths.append(truth)
    event_id = 0
    person_record = 0
    for truth in truths:
        for _ in range(rng.choices((1, 2, 3, 4), weights=(35, 30, 20, 15))[0]):
            event_id += 1
            out.truth[str(event_id)] = truth.number
            when, where = _date(rng, truth.day), _place(rng, truth.town)
            on_event = rng.random() < 0.5
            place_id = out.place(where) if where is not None else None
            out.events.append((event_id, _title(rng, truth), when if on_event else None,
                               place_id if on_event else None))
            named: list[int | None] = [v for v in truth.victims if rng.random() < 0.5]
            named = named or [None]
            for act in _acts(rng, truth.kind):
                for victim in named:
                    record = None
                    if victim is not None:
                        person_record += 1
                        record = person_record
                        # a linked victim stands for the person, else the record alone
                        out.victims[record] = victim if rng.random() < 0.4 else -record
                    out.acts.append((event_id, act, None if on_event else when,
                                     None if on_event else place_id, None, record))
    return out


def frame_of(reports: Reports) -> pd.DataFrame:
    """The input frame of ``EVENTS``, as ``Links`` builds it from an archive."""
    from sillok.linkage.events import events_frame

    return events_frame(
        reports.events,
        reports.acts,
        place_key=lambda pid: reports.places[pid],
        victim_key=lambda record: f"v{reports.victims[record]}",
    )


def _vague_shares(pairs: pd.DataFrame, same: np.ndarray, model: LinkageModel
                  ) -> dict[str, Any]:
    """Among the matching candidate pairs with a known date (place), the share in each
    vague level, next to the m value the model used."""
    out: dict[str, Any] = {}
    linker = model.linker
    for comparison in linker._settings_obj.comparisons:
        name = comparison.output_column_name
        if name not in ("date", "place"):
            continue
        column = pairs[f"gamma_{name}"].to_numpy()
        known = same & (column >= 0)
        for level in comparison._comparison_levels_excluding_null:
            if "vague" not in level.label_for_charts:
                continue
            share = float((column[known] == level.comparison_vector_value).mean())
            out[level.label_for_charts] = {"true_share_among_matches": round(share, 3),
                                           "model_m": round(float(level.m_probability), 4)}
    return out


def run(events: int, seed: int, vague_m: tuple[float, float] | None = None,
        reviewed: Sequence[int] = (), bound: bool = False) -> dict[str, Any]:
    """Generate, link and score one set; with ``reviewed``, also after a reviewer decided
    that many of the most probable pairs."""
    from sillok.linkage import events as event_linkage

    reports = generate(events, seed)
    frame = frame_of(reports)
    saved = event_linkage.VAGUE_DATE_M, event_linkage.VAGUE_PLACE_M
    if vague_m is not None:
        event_linkage.VAGUE_DATE_M, event_linkage.VAGUE_PLACE_M = vague_m
    try:
        started = time.perf_counter()
        model = LinkageModel(event_linkage.EVENTS, LinkageSettings(review_floor=1e-6))
        model.fit(frame)
        pairs = model.predict()
        seconds = time.perf_counter() - started
    finally:
        event_linkage.VAGUE_DATE_M, event_linkage.VAGUE_PLACE_M = saved
    truth = reports.truth
    ids = list(truth)
    true_pairs = _true_pairs(truth)
    same = np.array([truth[a] == truth[b] for a, b in zip(pairs["left_id"], pairs["right_id"],
                                                          strict=True)])
    linked = pairs[pairs["match_probability"] >= DEFAULT_THRESHOLD]
    scored = pairwise_scores(pairs_from_list(zip(linked["left_id"], linked["right_id"],
                                                 strict=True)), true_pairs)
    kept = pairs[pairs["match_probability"] >= DEFAULT_REVIEW_FLOOR]
    clusters = average_linkage_ids(
        ids, zip(kept["left_id"], kept["right_id"], kept["match_probability"], strict=True),
        DEFAULT_THRESHOLD,
    )
    result = {
        "seed": seed,
        "true_events": events,
        "event_records": len(ids),
        "true_pairs": len(true_pairs),
        "candidate_pairs": len(pairs),
        "threshold": DEFAULT_THRESHOLD,
        "vague_m": list(vague_m) if vague_m else list(saved),
        "pairs": scored.as_dict(),
        "clusters": cluster_scores(clusters, truth).as_dict(),
        "calibration": reliability(pairs["match_probability"].to_numpy(), same),
        "vague_levels": _vague_shares(pairs, same, model),
        "warnings": list(model.warnings),
        "seconds": round(seconds, 2),
    }
    for count in reviewed:
        result[f"after_{count}_reviews"] = _after_reviews(frame, pairs, truth, true_pairs, count)
    if bound:
        result["bound"] = _bound(model, pairs, same, len(ids), true_pairs)
    return result


def _bound(model: LinkageModel, pairs: pd.DataFrame, same: np.ndarray, records: int,
           true_pairs: set[tuple[str, str]]) -> dict[str, Any]:
    """The same comparisons with hindsight m values (each level's share among the matching
    candidate pairs) and the true share of matching pairs: what better training could win."""
    settings = model.linker._settings_obj
    settings._probability_two_random_records_match = len(true_pairs) / (
        records * (records - 1) / 2)
    for comparison in settings.comparisons:
        column = pairs[f"gamma_{comparison.output_column_name}"].to_numpy()
        known = same & (column >= 0)
        for level in comparison._comparison_levels_excluding_null:
            share = float((column[known] == level.comparison_vector_value).mean())
            level.m_probability = max(share, 1e-4)
    again = model.predict()
    linked = again[again["match_probability"] >= DEFAULT_THRESHOLD]
    return pairwise_scores(pairs_from_list(zip(linked["left_id"], linked["right_id"],
                                               strict=True)), true_pairs).as_dict()


def _after_reviews(frame: pd.DataFrame, pairs: pd.DataFrame, truth: dict[str, int],
                   true_pairs: set[tuple[str, str]], count: int) -> dict[str, Any]:
    """A reviewer decides the ``count`` most probable pairs (from the truth); the next run is
    tuned and corrected on them as ``Links.find`` does. Scores on the pairs nobody reviewed,
    before and after."""
    from sillok.linkage.events import EVENTS
    from sillok.linkage.labels import correct, tune

    top = pairs.head(count)
    labels = [(a, b, truth[a] == truth[b]) for a, b in zip(top["left_id"], top["right_id"],
                                                           strict=True)]
    reviewed = pairs_from_list((a, b) for a, b, _ in labels)
    model = LinkageModel(EVENTS, LinkageSettings(review_floor=1e-6)).fit(frame)
    notes = [tune(model, labels).note, correct(model, labels).note]
    again = model.predict()
    out: dict[str, Any] = {"accepted": sum(m for *_, m in labels), "notes": notes}
    for name, scored in (("before", pairs), ("after", again)):
        linked = scored[scored["match_probability"] >= DEFAULT_THRESHOLD]
        predicted = pairs_from_list(zip(linked["left_id"], linked["right_id"], strict=True))
        out[name] = pairwise_scores(predicted - reviewed, true_pairs - reviewed).as_dict()
    return out


def _true_pairs(truth: dict[str, int]) -> set[tuple[str, str]]:
    groups: dict[int, list[str]] = {}
    for record, number in truth.items():
        groups.setdefault(number, []).append(record)
    return pairs_from_list((a, b) for g in groups.values() for a in g for b in g if a < b)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the benchmark as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="true events (default 500)")
    parser.add_argument("--seed", type=int, default=2, help="1 to tune, 2 to test (default)")
    parser.add_argument("--reviewed", default="",
                        help="comma-separated numbers of top pairs a reviewer decides before "
                             "a second run (scored on the pairs not reviewed)")
    parser.add_argument("--bound", action="store_true",
                        help="also score with hindsight m values and prior (the bound)")
    parser.add_argument("--vague-m", default="",
                        help="comma-separated fixed m values of the vague date and place "
                             "levels to compare (default: the shipped ones only)")
    args = parser.parse_args(argv)
    reviewed = [int(v) for v in filter(None, args.reviewed.split(","))]
    runs = [run(args.events, args.seed, reviewed=reviewed, bound=args.bound)]
    for value in filter(None, args.vague_m.split(",")):
        m = float(value)
        runs.append(run(args.events, args.seed, (m, m)))
    print(json.dumps({"python": platform.python_version(), "runs": runs}, indent=1,
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
