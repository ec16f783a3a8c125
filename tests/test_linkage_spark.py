"""`--engine spark` gives the same clusters as DuckDB (Spark in local mode, one session).

Spark takes tens of seconds to start, so this module starts it once and runs one job on it.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sillok.cli.linkage import register
from sillok.linkage import engines
from sillok.synthetic.persons import generate_persons, generate_reports
from tests.conftest import need


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        need("pyspark is not installed")
    if shutil.which("java") is None:
        need("Java is not installed")
    engines.spark_session()
    yield
    engines.stop_spark()


def test_spark_and_duckdb_give_the_same_clusters(spark: None, tmp_path: Path) -> None:
    reports = generate_reports(generate_persons(40, 8), seed=8)
    source = tmp_path / "persons.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "name_hangul", "birth", "sex", "origin"])
        for r in reports:
            writer.writerow(
                [r.report_id, r.name, r.name_hangul or "", r.birth or "", r.sex or "",
                 r.origin or ""]
            )
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    outputs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.csv"
        result = CliRunner().invoke(
            app,
            ["dedupe", "persons", "--input", str(source), "--output", str(out),
             "--engine", engine, "--json"],
        )
        assert result.exit_code == 0, result.stderr
        assert f'"engine": "{engine}"' in result.stdout
        outputs[engine] = out.read_text(encoding="utf-8")
    assert outputs["spark"] == outputs["duckdb"]
    clusters = {line.split(",")[1] for line in outputs["duckdb"].splitlines()[1:]}
    assert 1 < len(clusters) < len(reports)  # something was linked, not everything
