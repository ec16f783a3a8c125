"""`sillok link` (find candidate pairs) and `sillok review` (decide them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from sillok.cli import (
    ArchiveArg,
    JsonOpt,
    PassphraseFile,
    app,
    console,
    friendly_errors,
    open_archive,
)
from sillok.linkage.archive import Candidate
from sillok.linkage.clusters import Caution
from sillok.linkage.model import DEFAULT_REVIEW_FLOOR, DEFAULT_THRESHOLD, LinkageSettings


@app.command()
@friendly_errors
def link(
    archive: Path = ArchiveArg,
    kind: str = typer.Argument("persons", help="What to link: persons or events."),
    threshold: float = typer.Option(
        None, "--threshold", min=0.01, max=0.99,
        help="Queue pairs from this match probability (default: the review floor, "
        f"{DEFAULT_REVIEW_FLOOR}).",
    ),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Find records that may be the same person or event (Splink, no labels needed) and
    queue them. Links already accepted or rejected evaluate the run and, from ten accepted,
    tune it."""
    settings = LinkageSettings(
        review_floor=threshold, threshold=max(threshold, DEFAULT_THRESHOLD)
    ) if threshold else LinkageSettings()
    with open_archive(archive, passphrase_file) as opened:
        run = opened.links.find(kind, settings, progress=lambda step: console.print(f"  {step}"))
    console.print(f"Compared {run.records} {kind}: {run.candidates} candidate pairs, "
                  f"{run.new} new in the review queue.")
    if run.tuning:
        console.print(f"  {run.tuning}")
    if run.evaluation:
        e = run.evaluation
        console.print(
            f"Against {e['accepted'] + e['rejected']} reviewed links ({e['accepted']} accepted, "
            f"{e['rejected']} rejected) at p >= {e['threshold']}: precision "
            f"{e['precision']:.3f}, recall {e['recall']:.3f}, F1 {e['f1']:.3f}."
        )
    for warning in run.warnings:
        console.print(f"  warning: {warning}")


def show_candidate(candidate: Candidate) -> None:
    """One pair in the queue with the evidence for its score."""
    table = Table("field", "evidence", "weight", title=(
        f"link {candidate.id}: {candidate.left}  ~  {candidate.right}  "
        f"(p = {candidate.probability:.3f}, {candidate.status})"))
    for item in candidate.evidence:
        table.add_row(str(item.get("field")), str(item.get("level")), f"{item.get('weight'):+.1f}")
    console.print(table)
    for caution in candidate.cautions:
        console.print(f"  [bold]caution[/bold]: {describe(caution)}")


def describe(caution: Caution) -> str:
    """A caution in words."""
    if caution.code == "same identity":
        return "other accepted links already make these two one identity"
    if caution.code == "rejected between":
        return (f"accepting joins two identities between which a reviewer rejected link "
                f"{caution.link}")
    left, right = caution.sizes
    return (f"accepting joins identities of {left} and {right} records whose pairs are alike "
            f"on average only p = {caution.mean}")


@app.command()
@friendly_errors
def review(
    archive: Path = ArchiveArg,
    accept: list[int] = typer.Option(None, "--accept", help="Accept these links."),
    reject: list[int] = typer.Option(None, "--reject", help="Reject these links."),
    undo: list[int] = typer.Option(None, "--undo", help="Undo a decision (back to the queue)."),
    status: str = typer.Option("pending", "--status",
                               help="List links in this status: pending, accepted, rejected."),
    kind: str = typer.Option("persons", "--kind", help="Which links to list: persons or events."),
    as_json: bool = JsonOpt,
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Review candidate pairs: accept, reject or skip each; decisions are versioned records.

    With --accept/--reject/--undo, decide those links. Otherwise list the queue, and at a
    terminal ask about each pair in turn (a accept, r reject, s skip, q quit).
    """
    with open_archive(archive, passphrase_file) as opened:
        decided = [(i, "accept") for i in accept or []] + [(i, "reject") for i in reject or []]
        decided += [(i, "undo") for i in undo or []]
        for link_id, verdict in decided:
            console.print(f"link {link_id}: {opened.links.decide(link_id, verdict)}")
        if decided:
            return
        queue = opened.links.queue(status, kind=kind)
        if as_json:
            sys.stdout.write(json.dumps([c.to_json() for c in queue], ensure_ascii=False) + "\n")
            return
        if not queue:
            console.print(f"No {status} links.")
            return
        for candidate in queue:
            show_candidate(candidate)
            if not sys.stdin.isatty() or status != "pending":
                continue
            answer = typer.prompt("[a]ccept, [r]eject, [s]kip, [q]uit", default="s")
            if answer.startswith("q"):
                break
            if answer[:1] in ("a", "r"):
                verdict = "accept" if answer.startswith("a") else "reject"
                console.print(f"  {opened.links.decide(candidate.id, verdict)}")
