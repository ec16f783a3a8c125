"""`--engine spark` gives the same clusters as DuckDB (Spark in local mode, one session).

Spark takes tens of seconds to start, so this module starts it once, from the command line
with its Spark options, and runs one job on it; the checks of bad options start no Spark.
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
    engines.stop_spark()  # the command starts its own session, with its options
    yield
    engines.stop_spark()


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


def test_spark_and_duckdb_give_the_same_clusters(spark: None, tmp_path: Path) -> None:
    reports = generate_reports(generate_persons(40, 8), seed=8)
    source = tmp_path / "persons.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "name_hangul", "birth", "sex", "origin"])
        for r in reports:
            writer.writerow(
                [
                    r.report_id,
                    r.name,
                    r.name_hangul or "",
                    r.birth or "",
                    r.sex or "",
                    r.origin or "",
                ]
            )
    app = _app()
    spark_flags = [
        "--spark-master",
        "local[1]",
        "--spark-driver-memory",
        "1g",
        "--spark-conf",
        "spark.sql.shuffle.partitions=3",
        "--spark-conf",
        "spark.sillok.test.marker = seen",
    ]
    outputs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.csv"
        result = CliRunner().invoke(
            app,
            [
                "dedupe",
                "persons",
                "--input",
                str(source),
                "--output",
                str(out),
                "--engine",
                engine,
                "--json",
                *(spark_flags if engine == "spark" else []),
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert f'"engine": "{engine}"' in result.stdout
        outputs[engine] = out.read_text(encoding="utf-8")
    assert outputs["spark"] == outputs["duckdb"]
    clusters = {line.split(",")[1] for line in outputs["duckdb"].splitlines()[1:]}
    assert 1 < len(clusters) < len(reports)  # something was linked, not everything

    # The options reached the session the command started (a running session is reused).
    session = engines.spark_session()
    assert session.sparkContext.master == "local[1]"
    assert session.conf.get("spark.driver.memory") == "1g"
    assert session.conf.get("spark.sql.shuffle.partitions") == "3"
    assert session.conf.get("spark.sillok.test.marker") == "seen"
    assert "similarity" in session.conf.get("spark.jars")  # Splink's jar is still loaded


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--spark-conf", "spark.executor.memory"], "'spark.executor.memory' is not KEY=VALUE"),
        (["--spark-conf", "executor.memory=8g"], "'executor.memory' is not a Spark setting"),
        (["--spark-conf", "spark.master=yarn"], "set spark.master with --spark-master"),
        (["--spark-master", "localhost:7077"], "'localhost:7077' is not a Spark master URL"),
        (["--spark-driver-memory", "lots"], "'lots' is not a size"),
    ],
)
def test_a_bad_spark_option_is_a_clear_error(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "dedupe",
            "persons",
            "--input",
            str(tmp_path / "none.csv"),
            "--output",
            str(tmp_path / "out.csv"),
            "--engine",
            "spark",
            *flags,
        ],
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_spark_options_need_the_spark_engine(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        [
            "dedupe",
            "persons",
            "--input",
            str(tmp_path / "none.csv"),
            "--output",
            str(tmp_path / "out.csv"),
            "--spark-master",
            "yarn",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--spark-master applies to --engine spark only" in result.stderr
