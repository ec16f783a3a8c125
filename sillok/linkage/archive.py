"""Links, not merges: "same person" and "same event" assertions between records, found by
record linkage and decided by a reviewer.

``archive.links.find(kind)`` trains a Splink model on the archive's victims or events (no labels
needed), scores candidate pairs and puts the new ones in the review queue with the evidence that
moved each score. A reviewer accepts, rejects or skips each pair; a decision is a new version of
the link record (history and Merkle log like any other record), and undoing one is another. The
resolved identities are the connected components of accepted links; the records themselves are
never merged or changed. Decisions already made are labels: each run is evaluated against them,
corrected by every accepted and rejected one and, once there are enough accepted pairs, tuned on
them (``sillok.linkage.labels``); pending pairs get the new run's probability.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from sillok.errors import InvalidInput, NotFound
from sillok.linkage import labels as reviewed
from sillok.linkage.clusters import (
    DEFAULT_THRESHOLD,
    Caution,
    IdentityGraph,
    cautions,
    cluster_ids,
    pair_key,
)
from sillok.messages import link_already_decided, no_links_chosen, no_such, not_one_of
from sillok.security.policy import may
from sillok.security.seal import is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows

if TYPE_CHECKING:
    from sillok.linkage.model import LinkageSettings
    from sillok.linkage.schema import Schema
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

#: what users type -> the record kind stored on a link
LINK_KINDS = {"persons": "person", "events": "event"}
VERDICTS = {"accept": "accepted", "reject": "rejected", "undo": "pending"}
#: what a reviewer may decide about several pending links at once
BULK_VERDICTS = ("accept", "reject")


@dataclass(frozen=True)
class LinkRun:
    """What a linkage run found."""

    records: int
    candidates: int
    new: int
    warnings: tuple[str, ...]
    #: pairwise scores at the threshold against reviewed links (``labels.evaluate``)
    evaluation: dict[str, Any] | None = None
    #: whether reviewed links tuned the model, in words (``labels.tune``)
    tuning: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One pair in the review queue, as a reviewer sees it."""

    id: int
    kind: str
    left_id: int
    right_id: int
    probability: float
    status: str
    left: str
    right: str
    evidence: list[dict[str, Any]]
    #: for a pending pair, what accepting it would join beyond the pair itself
    #: (``sillok.linkage.clusters.cautions``)
    cautions: list[Caution] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "cautions": [c.__dict__ for c in self.cautions]}


class Links:
    """The archive's links between persons and between events."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records

    def records_frame(self, kind: str = "persons") -> pd.DataFrame:
        """The records of a kind as its linkage schema reads them."""
        return self._events_frame() if _record_kind(kind) == "event" else self._persons_frame()

    def _persons_frame(self) -> pd.DataFrame:
        """The victims (protected persons left out)."""
        with self.vault.store.reading() as conn:
            people = queries.persons_for_linkage(conn)
            names = queries.names_of_persons(conn, [p[0] for p in people if not p[4]])
        rows = []
        for pid, sex, birth, origin_id, protected in people:
            if protected or pid not in names:
                continue
            latin = next((n for n, s, _k in names[pid] if s == "Latn"), None)
            hangul = next((n for n, s, _k in names[pid] if s == "Hang"), None)
            origin = self.vault.places.province_of(origin_id)
            rows.append({
                "id": str(pid), "name": latin or hangul, "name_hangul": hangul if latin else None,
                "birth": birth, "sex": sex if sex in ("male", "female") else None,
                "origin": origin.vocab_key if origin else None,
            })
        return pd.DataFrame(rows, columns=["id", "name", "name_hangul", "birth", "sex", "origin"])

    def _events_frame(self) -> pd.DataFrame:
        """The events, like persons without what is sensitive: confidential events and acts
        are left out, protected victims too, and a sealed title counts as no title."""
        from sillok.linkage.events import events_frame  # needs Splink, an optional extra

        with self.vault.store.reading() as conn:
            rows = queries.events_for_linkage(conn)
            acts = queries.acts_for_event_linkage(conn)
        persons = self.clusters("persons")
        return events_frame(
            [(i, None if is_sealed(t) else t, d, p) for i, t, d, p in rows],
            acts,
            place_key=self._place_key,
            victim_key=lambda pid: str(persons.get(pid, pid)),
        )

    def _place_key(self, place_id: int) -> str | None:
        """A place as the place comparison reads it: the gazetteer key of its county or
        city, else of its province, else its name (a place an import added)."""
        directory = self.vault.places
        for entry in directory.ancestors(place_id):
            if entry.vocab_key and entry.kind in ("city", "county"):
                return entry.vocab_key
        province = directory.province_of(place_id)
        if province is not None:
            return province.vocab_key
        found = directory.get(place_id)
        return (found.name_ko or found.name_en) if found else None

    def find(self, kind: str = "persons", settings: LinkageSettings | None = None,
             progress: Callable[[str], None] | None = None) -> LinkRun:
        """Train, score, queue the pairs not seen before (at or above the review floor), and
        rescore the pairs still waiting in the queue.

        Reviewed links of the kind are labels: with at least ``labels.MIN_TUNING_MATCHES``
        accepted ones they re-estimate the model's m values; then every accepted and rejected
        one corrects the weights of the levels it fell in (``labels.correct``), before
        scoring. The scores are evaluated against all of them (``LinkRun.evaluation``). A
        pending pair gets the new model's probability and evidence (a new version of its
        link when they changed), so the queue is ordered by what the latest model says.
        """
        self._require_review()
        if kind not in LINK_KINDS:
            raise InvalidInput(f"cannot link {kind!r}; expected one of {', '.join(LINK_KINDS)}")
        from sillok.linkage.model import LinkageModel  # needs Splink, an optional extra

        record_kind = LINK_KINDS[kind]
        frame = self.records_frame(kind)
        if len(frame) < 2:
            return LinkRun(len(frame), 0, 0, (f"fewer than two {kind} to compare",))
        model = LinkageModel(_schema(kind), settings).fit(frame, progress)
        labels = self._labels(record_kind, set(frame["id"]))
        notes = [reviewed.tune(model, labels).note, reviewed.correct(model, labels).note]
        pairs = model.predict(progress=progress)
        evaluation = reviewed.evaluate(model, labels, pairs)
        with self.vault.store.reading() as conn:
            known = queries.link_pairs(conn, record_kind)
        ids = set(frame["id"])
        waiting = [
            (str(left), str(right)) for (left, right), row in known.items()
            if row.status == "pending" and {str(left), str(right)} <= ids
        ]
        scored = {_int_pair(p["left_id"], p["right_id"]): p for p in pairs.to_dict("records")}
        missing = [pair for pair in waiting if _int_pair(*pair) not in scored]
        scored.update(
            (_int_pair(p["left_id"], p["right_id"]), p)
            for p in model.score_pairs(missing).to_dict("records")
        )
        with self.vault.store.transaction() as conn:
            known = queries.link_pairs(conn, record_kind)
            values: dict[str, dict[str, Any]] = {}
            for (left, right), pair in scored.items():
                row = known.get((left, right))
                if row is not None and row.status != "pending":
                    continue
                value = {
                    "probability_ppm": round(float(pair["match_probability"]) * 1_000_000),
                    "evidence": json.dumps([e.__dict__ for e in model.explain(pair)],
                                           ensure_ascii=False),
                }
                if row is None:
                    if float(pair["match_probability"]) < model.settings.review_floor:
                        continue
                    value.update(record_kind=record_kind, left_id=left, right_id=right,
                                 status="pending")
                elif all(getattr(row, k) == v for k, v in value.items()):
                    continue
                values[f"link:{record_kind}:{left}:{right}"] = value
            result = store_rows.upsert_by_ref(
                conn, self.vault.store.dialect, "link", values, self.vault.settings.actor
            )
        return LinkRun(len(frame), len(pairs), len(result.created), tuple(model.warnings),
                       evaluation, "; ".join(notes) if labels else None)

    def _labels(self, record_kind: str, ids: set[str]) -> list[tuple[str, str, bool]]:
        """Accepted and rejected links between records of the frame, as labels."""
        with self.vault.store.reading() as conn:
            known = queries.link_pairs(conn, record_kind)
        return [
            (str(left), str(right), row.status == "accepted")
            for (left, right), row in known.items()
            if row.status in ("accepted", "rejected") and {str(left), str(right)} <= ids
        ]

    def queue(self, status: str = "pending", limit: int | None = None,
              kind: str = "persons") -> list[Candidate]:
        """Links in a status (pending: the review queue), the most probable first."""
        record_kind = _record_kind(kind)
        with self.vault.store.reading() as conn:
            rows = queries.links_with_status(conn, record_kind, status, limit)
            every = queries.link_pairs(conn, record_kind) if status == "pending" else {}
        graph = IdentityGraph.from_links(
            (pair for pair, r in every.items() if r.status == "accepted")
        )
        probability = {pair_key(*pair): r.probability_ppm / 1_000_000 for pair, r in every.items()}
        rejected = {pair_key(*pair): r.id for pair, r in every.items() if r.status == "rejected"}
        titles = self.records.titles(
            [(record_kind, r.left_id) for r in rows] + [(record_kind, r.right_id) for r in rows]
        )
        return [
            Candidate(
                r.id, kind, r.left_id, r.right_id, r.probability_ppm / 1_000_000, r.status,
                titles.get((record_kind, r.left_id), "?"),
                titles.get((record_kind, r.right_id), "?"),
                json.loads(r.evidence),
                cautions(r.left_id, r.right_id, graph, probability, rejected,
                         DEFAULT_THRESHOLD)
                if status == "pending" else [],
            )
            for r in rows
        ]

    def decide(self, link_id: int, verdict: str) -> str:
        """Accept, reject or undo (back to pending) one link; returns its new status.

        Raises:
            InvalidInput: the role may not review links, or the verdict is unknown.
        """
        self._require_review()
        if verdict not in VERDICTS:
            raise InvalidInput(f"unknown verdict {verdict!r} (accept, reject, undo)")
        with self.vault.store.transaction() as conn:
            row = store_rows.get(conn, "link", link_id)
            if row is None:
                raise NotFound(no_such("link", link_id))
            status = VERDICTS[verdict]
            if row.status != status:
                store_rows.update_record(
                    conn, "link", row, {"status": status}, self.vault.settings.actor
                )
        return status

    def decide_many(self, link_ids: Iterable[int], verdict: str) -> int:
        """Accept or reject several pending links in one transaction, all or none; returns
        how many were decided. Each is a new version of its link, as :meth:`decide` writes.

        Raises:
            InvalidInput: the role may not review links, the verdict is not accept or reject,
                no link was given, or one of them is not pending (nothing is written).
            NotFound: one of the links does not exist (nothing is written).
        """
        self._require_review()
        if verdict not in BULK_VERDICTS:
            raise InvalidInput(not_one_of(verdict, BULK_VERDICTS, field="verdict"))
        wanted = list(dict.fromkeys(int(i) for i in link_ids))
        if not wanted:
            raise InvalidInput(no_links_chosen())
        status = VERDICTS[verdict]
        with self.vault.store.transaction() as conn:
            rows = []
            for link_id in wanted:
                row = store_rows.get(conn, "link", link_id)
                if row is None:
                    raise NotFound(no_such("link", link_id))
                if row.status != "pending":
                    raise InvalidInput(link_already_decided(link_id, row.status))
                rows.append(row)
            for row in rows:
                store_rows.update_record(
                    conn, "link", row, {"status": status}, self.vault.settings.actor
                )
        return len(rows)

    def merge(self, left_id: int, right_id: int, kind: str = "persons") -> int:
        """Say by hand that two records are the same person (or event): an accepted link
        between them, new or a new version of the one the queue holds; returns its id. The
        records stay as they are; :meth:`unmerge` withdraws it.

        Raises:
            InvalidInput: the role may not review links, or the two are one record.
            NotFound: either record does not exist or the role may not see it.
        """
        self._require_review()
        record_kind = _record_kind(kind)
        left, right = sorted((int(left_id), int(right_id)))
        if left == right:
            raise InvalidInput(f"{record_kind} {left} cannot be merged with itself")
        seen = set(self.records.visible(record_kind, [left, right]))
        for record_id in (left, right):
            if record_id not in seen:
                raise NotFound(no_such(record_kind, record_id))
        ref = f"link:{record_kind}:{left}:{right}"
        actor = self.vault.settings.actor
        with self.vault.store.transaction() as conn:
            row = store_rows.by_refs(conn, "link", [ref]).get(ref)
            if row is None:
                (link_id,) = store_rows.insert_records(
                    conn, self.vault.store.dialect, "link",
                    [{"ref": ref, "record_kind": record_kind, "left_id": left,
                      "right_id": right, "probability_ppm": 1_000_000, "evidence": "[]",
                      "status": "accepted"}],
                    actor,
                )
                return int(link_id)
            if row.status != "accepted":
                store_rows.update_record(conn, "link", row, {"status": "accepted"}, actor)
            return int(row.id)

    def unmerge(self, link_id: int) -> str:
        """Withdraw a merge: the link is rejected (a new version; its history is kept)."""
        return self.decide(link_id, "reject")

    def merged_with(self, record_id: int, kind: str = "persons") -> list[tuple[int, int]]:
        """(link id, the other record's id) of the accepted links of one record."""
        record_kind = _record_kind(kind)
        with self.vault.store.reading() as conn:
            accepted = queries.links_with_status(conn, record_kind, "accepted")
        return [
            (int(r.id), int(r.right_id if r.left_id == record_id else r.left_id))
            for r in accepted
            if record_id in (r.left_id, r.right_id)
        ]

    def _require_review(self) -> None:
        if not may(self.vault.role, "review"):
            raise InvalidInput(f"the {self.vault.role} role may not review links")

    def clusters(self, kind: str = "persons") -> dict[int, int]:
        """Record id -> resolved identity (one member's id), for records with accepted links."""
        with self.vault.store.reading() as conn:
            accepted = queries.links_with_status(conn, _record_kind(kind), "accepted")
        members = {r.left_id for r in accepted} | {r.right_id for r in accepted}
        found = cluster_ids(
            [str(m) for m in members], [(str(r.left_id), str(r.right_id)) for r in accepted]
        )
        return {int(k): int(v) for k, v in found.items()}

    def progress(self, kind: str = "persons") -> dict[str, int]:
        """How many candidate links wait for review and how many were accepted or rejected."""
        with self.vault.store.reading() as conn:
            counts = queries.link_status_counts(conn, _record_kind(kind))
        return {status: counts.get(status, 0) for status in ("pending", "accepted", "rejected")}


def _int_pair(left: Any, right: Any) -> tuple[int, int]:
    """A pair of record ids as a link stores it: integers, the smaller first."""
    a, b = sorted((int(left), int(right)))
    return a, b


def _schema(kind: str) -> Schema:
    # the schemas are made of Splink comparisons, and Splink is an optional extra
    from sillok.linkage.events import EVENTS
    from sillok.linkage.schema import PERSONS

    return EVENTS if kind == "events" else PERSONS


def _record_kind(kind: str) -> str:
    if kind not in LINK_KINDS:
        raise InvalidInput(f"unknown link kind {kind!r}; expected one of {', '.join(LINK_KINDS)}")
    return LINK_KINDS[kind]


__all__ = ["Candidate", "LinkRun", "Links"]
