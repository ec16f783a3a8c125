"""`sillok dedupe persons`: find the same person in a plain CSV file (no archive needed)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from sillok.errors import SillokError
from sillok.linkage.engines import ENGINES, EngineOptions, EngineUnavailable, spark_options
from sillok.linkage.model import (
    DEFAULT_REVIEW_FLOOR,
    DEFAULT_THRESHOLD,
    LinkageSettings,
    dedupe,
)
from sillok.linkage.plainfile import read_persons, write_clusters
from sillok.linkage.schema import PERSONS

_DEDUPE_HELP = "Find records of the same person or event in a plain file, outside any archive."
_PERSONS_HELP = (
    "Deduplicate person records from a CSV file.\n\n"
    "Input columns: id, name (any script or romanization), and optionally name_hangul, "
    "birth (any date form, e.g. 1965, about 1960, 1960년경, 1958-1961), sex (male, female, "
    "남, 여) and origin (a place: county, province or ISO code such as KP-09). Output: a CSV "
    "with id and cluster_id (the smallest id of each group of the same person). Two groups "
    "of records are joined while the mean match probability between them reaches --threshold "
    "(average linkage); no archive or passphrase is needed.\n\n"
    "With --engine spark, --spark-master runs the scoring on an existing Spark cluster "
    '(docs/linkage.md, "On a Spark cluster").'
)


class _ExitWithMessage(Exception):
    """Carries a user-facing message up to the command, which prints it and exits 2."""


def _engine_options(
    engine: str, master: str | None, conf: list[str], driver_memory: str | None
) -> EngineOptions:
    """The engine's options from the command line, checked before any work starts."""
    if engine not in ENGINES:
        raise _ExitWithMessage(f"--engine: unknown engine {engine!r}; use {' or '.join(ENGINES)}")
    given = [
        name
        for name, value in (
            ("--spark-master", master),
            ("--spark-conf", conf),
            ("--spark-driver-memory", driver_memory),
        )
        if value
    ]
    if engine != "spark":
        if given:
            raise _ExitWithMessage(f"{given[0]} applies to --engine spark only")
        return EngineOptions()
    try:
        return spark_options(master, conf, driver_memory)
    except ValueError as exc:
        raise _ExitWithMessage(str(exc)) from None


def _run_dedupe(
    input_path: Path,
    output_path: Path,
    engine: str,
    engine_options: EngineOptions,
    threshold: float,
    as_json: bool,
    console: Console,
    err_console: Console,
) -> dict[str, Any]:
    started = time.perf_counter()
    if not 0.0 < threshold < 1.0:
        raise _ExitWithMessage(f"--threshold: {threshold} is not between 0 and 1")
    records = read_persons(input_path)
    settings = LinkageSettings(
        threshold=threshold,
        review_floor=min(threshold, DEFAULT_REVIEW_FLOOR),
        engine=engine,
        engine_options=engine_options,
    )
    ids = records["id"].tolist()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"linking {len(ids):,} records", total=None)

        def step(name: str) -> None:
            progress.update(task, description=f"{name} ({len(ids):,} records)")

        result = dedupe(records, PERSONS, settings, progress=step)
    write_clusters(output_path, ids, result.clusters)
    sizes: dict[str, int] = {}
    for cluster in result.clusters.values():
        sizes[cluster] = sizes.get(cluster, 0) + 1
    linked = int((result.pairs["match_probability"] >= threshold).sum())
    summary = {
        "records": len(ids),
        "clusters": len(sizes),
        "clusters_with_several_records": sum(1 for n in sizes.values() if n > 1),
        "linked_pairs": linked,
        "threshold": threshold,
        "engine": engine,
        "output": str(output_path),
        "seconds": round(time.perf_counter() - started, 2),
        "warnings": list(result.warnings),
    }
    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        console.print(
            f"{summary['records']:,} records -> {summary['clusters']:,} persons "
            f"({summary['clusters_with_several_records']:,} reported more than once; "
            f"{linked:,} pairs at match probability >= {threshold}); "
            f"wrote {output_path} in {summary['seconds']} s"
        )
        for warning in result.warnings:
            err_console.print(f"warning: {warning}")
    return summary


def register(app: typer.Typer) -> None:
    """Add ``dedupe`` (with its ``persons`` command) to a Typer app."""
    dedupe_app = typer.Typer(help=_DEDUPE_HELP, no_args_is_help=True)

    @dedupe_app.command("persons", help=_PERSONS_HELP)
    def dedupe_persons(
        input_path: Annotated[
            Path, typer.Option("--input", help="CSV file of person records.", dir_okay=False)
        ],
        output_path: Annotated[
            Path, typer.Option("--output", help="CSV file to write: id,cluster_id.", dir_okay=False)
        ],
        engine: Annotated[
            str, typer.Option("--engine", help="Linkage engine: duckdb (default) or spark.")
        ] = "duckdb",
        threshold: Annotated[
            float,
            typer.Option(
                "--threshold",
                help=f"Mean match probability from which two groups of records are joined "
                f"(default {DEFAULT_THRESHOLD}; see docs/linkage.md for the evidence).",
            ),
        ] = DEFAULT_THRESHOLD,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
        spark_master: Annotated[
            str | None,
            typer.Option(
                "--spark-master",
                help="Spark master URL (spark://host:7077, yarn, k8s://...); "
                "default local[N] on this machine's N cores.",
            ),
        ] = None,
        spark_conf: Annotated[
            list[str] | None,
            typer.Option(
                "--spark-conf",
                help="A Spark setting as KEY=VALUE, e.g. spark.executor.memory=8g; repeatable.",
            ),
        ] = None,
        spark_driver_memory: Annotated[
            str | None,
            typer.Option(
                "--spark-driver-memory",
                help="The Spark driver's heap, e.g. 4g (default 2g; 4g for a million records).",
            ),
        ] = None,
    ) -> None:
        console = Console(highlight=False)
        err_console = Console(stderr=True, highlight=False)
        try:
            options = _engine_options(engine, spark_master, spark_conf or [], spark_driver_memory)
            _run_dedupe(
                input_path, output_path, engine, options, threshold, as_json, console, err_console
            )
        except (SillokError, _ExitWithMessage, EngineUnavailable) as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None

    app.add_typer(dedupe_app, name="dedupe")
