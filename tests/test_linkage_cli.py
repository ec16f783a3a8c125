"""`sillok dedupe persons`: the plain-file mode through its command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sillok.cli.linkage import register
from sillok.linkage.model import DEFAULT_THRESHOLD
from sillok.linkage.plainfile import InputError, read_persons
from sillok.synthetic.persons import generate_persons, generate_reports

HEADER = ["id", "name", "name_hangul", "birth", "sex", "origin"]


def make_app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test app."""

    return app


runner = CliRunner()


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def persons_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = generate_reports(generate_persons(40, 3), seed=3)
    rows = [
        [r.report_id, r.name, r.name_hangul or "", r.birth or "", r.sex or "", r.origin or ""]
        for r in reports
    ]
    rows.append(["x-1", "Kim Jong-un", "", "1984", "male", "Pyongyang"])
    rows.append(["x-2", "김정은", "", "about 1984", "남", "KP-01"])
    rows.append(["x-3", "Kim Jong-il", "김정일", "1983", "male", "KP-01"])
    return write_csv(tmp_path_factory.mktemp("dedupe") / "persons.csv", rows)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(make_app(), ["dedupe", "persons", *args])
    return result.exit_code, result.stdout, result.stderr


def read_output(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dedupe_writes_a_cluster_for_every_record_in_input_order(
    persons_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "clusters.csv"
    code, stdout, stderr = run("--input", str(persons_csv), "--output", str(out), "--json")
    assert code == 0, stderr
    rows = read_output(out)
    with persons_csv.open(encoding="utf-8") as handle:
        ids = [r["id"] for r in csv.DictReader(handle)]
    assert [r["id"] for r in rows] == ids
    assert list(rows[0]) == ["id", "cluster_id"]
    cluster = {r["id"]: r["cluster_id"] for r in rows}
    assert cluster["x-1"] == cluster["x-2"]
    assert cluster["x-1"] != cluster["x-3"]
    summary = json.loads(stdout)
    assert summary["records"] == len(ids)
    assert summary["clusters"] == len(set(cluster.values()))
    assert summary["engine"] == "duckdb" and summary["threshold"] == DEFAULT_THRESHOLD
    assert 0 < summary["clusters"] < len(ids)


def test_a_higher_threshold_never_makes_fewer_clusters(persons_csv: Path, tmp_path: Path) -> None:
    counts = []
    for threshold in ("0.3", "0.999"):
        out = tmp_path / f"c{threshold}.csv"
        code, stdout, stderr = run(
            "--input", str(persons_csv), "--output", str(out), "--threshold", threshold
        )
        assert code == 0, stderr
        assert "records ->" in stdout and str(out) in stdout.replace("\n", "")
        counts.append(len({r["cluster_id"] for r in read_output(out)}))
    assert counts[0] <= counts[1]


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        ([["a", "Kim Jong-un", "", "sometime", "", ""]], ["line 2", "'birth'", "'sometime'"]),
        (
            [["a", "Kim Jong-un", "", "", "", ""], ["b", "Ri Sol-ju", "", "", "x", ""]],
            ["line 3", "'sex'", "'x'"],
        ),
        (
            [["a", "Kim Jong-un", "", "", "", ""], ["a", "Ri Sol-ju", "", "", "", ""]],
            ["line 3", "'id'", "'a'", "line 2"],
        ),
        ([["", "Kim Jong-un", "", "", "", ""]], ["line 2", "'id'", "empty id"]),
        ([["a", "", "", "", "", ""]], ["line 2", "'name'", "empty name"]),
        ([["a", "Kim", "", "", "", "", "extra"]], ["line 2", "more values"]),
    ],
)
def test_bad_values_are_named_by_line_column_and_value(
    tmp_path: Path, rows: list[list[str]], needles: list[str]
) -> None:
    bad = write_csv(tmp_path / "bad.csv", rows)
    code, stdout, stderr = run("--input", str(bad), "--output", str(tmp_path / "o.csv"))
    assert code == 2
    message = " ".join(stderr.split())
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "o.csv").exists()


def test_missing_column_is_named(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [["a", "1984"]], header=["id", "birth"])
    code, _, stderr = run("--input", str(bad), "--output", str(tmp_path / "o.csv"))
    assert code == 2
    assert "missing column(s) name" in " ".join(stderr.split())


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("id,name\n1,Kim\n2,Jos\xe9\n".encode("latin-1"))
    code, _, stderr = run("--input", str(bad), "--output", str(tmp_path / "o.csv"))
    assert code == 2
    assert "line 3" in stderr and "UTF-8" in stderr


def test_missing_input_file(tmp_path: Path) -> None:
    code, _, stderr = run("--input", str(tmp_path / "nope.csv"), "--output", "o.csv")
    assert code == 2
    assert "nope.csv" in " ".join(stderr.split())


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [("--engine", "oracle", "'oracle'"), ("--threshold", "1.5", "1.5")],
)
def test_bad_options_are_refused(
    persons_csv: Path, tmp_path: Path, option: str, value: str, needle: str
) -> None:
    code, _, stderr = run(
        "--input", str(persons_csv), "--output", str(tmp_path / "o.csv"), option, value
    )
    assert code == 2
    assert needle in stderr


def test_help_names_the_columns_and_options() -> None:
    result = runner.invoke(make_app(), ["dedupe", "persons", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for word in ("name_hangul", "birth", "origin", "cluster_id", "--engine", "--threshold"):
        assert word in text, word


def test_reader_accepts_a_bom_optional_columns_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("\ufeffid, name ,notes\n1,Kim Jong-un,x\n2,김정은,\n", encoding="utf-8")
    frame = read_persons(path)
    assert frame["id"].tolist() == ["1", "2"]
    assert frame["birth"].isna().all()
    with pytest.raises(InputError) as info:
        write_csv(path, [["1", "Kim", "", "199", "", ""]])
        read_persons(path)
    assert (info.value.line, info.value.column, info.value.value) == (2, "birth", "199")


def test_spark_engine_without_pyspark_names_the_install_command(
    persons_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from sillok.linkage import engines

    monkeypatch.setattr(engines, "_spark_session", None)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    code, _, stderr = run(
        "--input", str(persons_csv), "--output", str(tmp_path / "o.csv"), "--engine", "spark"
    )
    assert code == 2
    assert "pip install 'sillok[spark]'" in " ".join(stderr.split())


def test_a_file_without_birth_dates_is_linked_with_a_warning(tmp_path: Path) -> None:
    names = ["Kim Jong-un", "김정은", "KIM Jong Un", "Ri Sol-ju", "리설주", "Pak Pong-ju",
             "박봉주", "Choe Ryong-hae", "최룡해"]
    source = write_csv(tmp_path / "few.csv", [[f"r{i}", n] for i, n in enumerate(names)],
                       header=["id", "name"])
    out = tmp_path / "clusters.csv"
    code, _, stderr = run("--input", str(source), "--output", str(out))
    assert code == 0, stderr
    assert "warning: no two records both have a birth date" in stderr
    cluster = {r["id"]: r["cluster_id"] for r in read_output(out)}
    assert cluster["r0"] == cluster["r1"] == cluster["r2"] != cluster["r3"]
