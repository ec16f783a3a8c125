"""`sillok estimate`: multiple systems estimation from an overlap table or an archive."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sillok.errors import SillokError
from sillok.estimate import (
    Criterion,
    EstimateSettings,
    Method,
    OverlapTable,
    estimate,
    estimate_strata,
    publish,
    read_overlap_csv,
    read_strata_csv,
    write_chart,
)

ArchiveLoader = Callable[[Path, str, list[str], str | None, Path | None],
                         OverlapTable | dict[str, OverlapTable]]
"""Builds overlap tables from an archive: (archive, lists field, --where filters, --by field,
--passphrase-file) -> one table, or one table per stratum when --by is given. The archive is
opened as every command opens one (``sillok --user NAME``, ``--passphrase-file``)."""

class _UsageError(SillokError):
    """The options do not fit together."""


_HELP = (
    "Estimate how many people no list recorded (multiple systems estimation).\n\n"
    "Give an overlap table with --input (one 0/1 column per list and a 'count' column, the "
    "all-zero row absent), or an ARCHIVE with --lists FIELD. Prints the estimated total, its "
    "interval, the model and the warnings that matter. Counts under --threshold are never "
    "shown."
)

def register(app: typer.Typer, archive_loader: ArchiveLoader | None = None) -> None:
    """Add the ``estimate`` command to a Typer app.

    Args:
        app: the root application.
        archive_loader: builds overlap tables from an archive (ARCHIVE mode); without it,
            only --input works.
    """

    def estimate_command(
        archive: Annotated[Path | None, typer.Argument(
            help="Archive to count from (with --lists).", show_default=False)] = None,
        input_path: Annotated[Path | None, typer.Option(
            "--input", "-i", help="Overlap table CSV: 0/1 list columns and 'count'.",
            show_default=False)] = None,
        lists: Annotated[str | None, typer.Option(
            help="Archive mode: the source field whose values are the lists "
                 "(organization, collection).", show_default=False)] = None,
        where: Annotated[list[str] | None, typer.Option(
            help="Archive mode: filter records (repeatable).", show_default=False)] = None,
        method: Annotated[Method, typer.Option(
            help="loglinear (Poisson log-linear models) or lcmcr (Bayesian latent classes)."
        )] = Method.LOGLINEAR,
        criterion: Annotated[Criterion, typer.Option(
            help="Log-linear model choice by AIC or BIC over hierarchical models.")
        ] = Criterion.AIC,
        model: Annotated[str | None, typer.Option(
            help="Log-linear terms by hand, e.g. 'l1:l2 + l3:l4', 'independence', "
                 "'two-way'.", show_default=False)] = None,
        by: Annotated[str | None, typer.Option(
            help="Estimate per stratum of this column or field, and the total.",
            show_default=False)] = None,
        seed: Annotated[int | None, typer.Option(
            help="Random seed (LCMCR chains, bootstrap); drawn and reported if not given.",
            show_default=False)] = None,
        samples: Annotated[int, typer.Option(help="LCMCR draws kept per chain.")] = 1000,
        burnin: Annotated[int, typer.Option(help="LCMCR sweeps discarded per chain.")] = 10000,
        thinning: Annotated[int, typer.Option(help="LCMCR sweeps per kept draw.")] = 10,
        chains: Annotated[int, typer.Option(help="LCMCR chains (2+ for R-hat).")] = 3,
        classes: Annotated[int, typer.Option(
            "--K", "-K", help="LCMCR truncation: the most latent classes.")] = 10,
        level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print JSON: method, estimate, lower, upper, observed, model, "
                           "warnings (+ strata).")] = False,
        threshold: Annotated[int, typer.Option(
            help="Never show a count under this (small-cell protection).")] = 5,
        chart: Annotated[Path | None, typer.Option(
            help="Write an SVG chart of observed vs estimated with intervals.",
            show_default=False)] = None,
        passphrase_file: Annotated[Path | None, typer.Option(
            "--passphrase-file", dir_okay=False, show_default=False,
            help="Archive mode: read the passphrase from this file (else SILLOK_PASSPHRASE, "
                 "else a prompt).")] = None,
    ) -> None:
        try:
            settings = EstimateSettings(
                method=method, criterion=criterion, model=model, level=level, seed=seed,
                samples=samples, burnin=burnin, thinning=thinning, chains=chains,
                classes=classes, threshold=threshold,
            )
            if chart is not None and chart.suffix.lower() != ".svg":
                raise _UsageError(f"--chart {chart.name}: only .svg charts are written")
            tables = _load(
                archive, input_path, lists, where or [], by, archive_loader, passphrase_file
            )
            if isinstance(tables, OverlapTable):
                published = publish(estimate(tables, settings), threshold)
            else:
                published = publish(estimate_strata(tables, by or "", settings), threshold)
            if chart is not None:
                write_chart(published, chart)
        except (SillokError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
        if as_json:
            typer.echo(json.dumps(published, indent=2, ensure_ascii=False))
        else:
            _print_text(published)
        if chart is not None and not as_json:
            typer.echo(f"Chart written to {chart}")

    app.command("estimate", help=_HELP)(estimate_command)


def _load(archive: Path | None, input_path: Path | None, lists: str | None,
          where: list[str], by: str | None, archive_loader: ArchiveLoader | None,
          passphrase_file: Path | None = None) -> OverlapTable | dict[str, OverlapTable]:
    if archive is not None and input_path is not None:
        raise _UsageError("give either an ARCHIVE or --input, not both")
    if input_path is not None:
        if lists or where:
            raise _UsageError("--lists and --where work on an ARCHIVE, not on --input")
        return read_strata_csv(input_path, by) if by else read_overlap_csv(input_path)
    if archive is None:
        raise _UsageError("nothing to estimate: give --input COUNTS.csv or ARCHIVE --lists FIELD")
    if not lists:
        raise _UsageError("archive mode needs --lists FIELD (the field whose values are lists)")
    if archive_loader is None:
        raise _UsageError("archive mode is not available in this build; export an overlap "
                         "table and use --input")
    return archive_loader(archive, lists, where, by, passphrase_file)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float):
        return f"{value:,.0f}"
    return str(value)


def _interval(entry: dict[str, Any]) -> str:
    if entry["estimate"] is None:
        return "-"
    upper = "no finite upper end" if entry["upper"] is None else _number(entry["upper"])
    return f"{_number(entry['lower'])} to {upper}"


def _print_text(published: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=True)
    lists = ", ".join(published["lists"])
    console.print(f"Multiple systems estimation ({published['method']}), "
                  f"{len(published['lists'])} lists: {lists}", markup=False)
    strata = published.get("strata")
    if strata:
        table = Table(title=f"By {published['by']}", title_justify="left")
        for column in ("stratum", "observed", "estimate", "interval", "model"):
            table.add_column(column, justify="right" if column != "model" else "left")
        for entry in strata:
            table.add_row(escape(entry["stratum"]), escape(_number(entry["observed"])),
                          _number(entry["estimate"]), _interval(entry), escape(entry["model"]))
        console.print(table)
    label = "Total" if strata else "Estimate"
    console.print(f"Observed: {_number(published['observed'])} people on at least one list",
                  markup=False)
    if published["estimate"] is None:
        console.print(f"{label}: not estimated", markup=False)
    else:
        console.print(f"{label}: {_number(published['estimate'])} "
                      f"({published['interval']}: {_interval(published)})", markup=False)
        details = published.get("details", {})
        how = details.get("selection")
        model = published["model"] + (f", chosen by {how}" if how else "")
        console.print(f"Model: {model}", markup=False)
        if published["method"] == "lcmcr":
            console.print(f"Chains: R-hat {_number_or_dash(details.get('rhat'))}, effective "
                          f"sample size {_number(details.get('ess'))}, seed "
                          f"{details.get('seed')}", markup=False)
    warnings = [("", w) for w in published["warnings"]]
    for entry in strata or []:
        warnings.extend((entry["stratum"], w) for w in entry["warnings"])
    if warnings:
        console.print("Warnings:", markup=False)
        for where, text in warnings:
            prefix = f"[{where}] " if where else ""
            console.print(f"  - {prefix}{text}", markup=False)


def _number_or_dash(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"
