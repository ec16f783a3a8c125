"""The command line, through Typer's CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()
ENV = {"SILLOK_PASSPHRASE": PASSPHRASE}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An archive with the Yodok dataset (made through the library, opened through the CLI)."""
    with Archive.create(tmp_path / "arch", PASSPHRASE, settings=FAST) as arch:
        arch.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    return tmp_path / "arch"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env if env is not None else ENV)
    return result.exit_code, result.stdout, result.stderr


def test_init_with_a_passphrase_file(tmp_path: Path) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text("file passphrase\n", "utf-8")
    code, out, err = run("init", str(tmp_path / "new"), "--passphrase-file", str(secret), env={})
    assert code == 0, err
    assert "Created archive" in out
    code, out, _ = run(
        "stats", str(tmp_path / "new"), "--json", env={"SILLOK_PASSPHRASE": "file passphrase"}
    )
    assert code == 0 and json.loads(out) == []


def test_wrong_passphrase_is_one_clear_line(folder: Path) -> None:
    code, out, err = run("search", str(folder), "요덕", env={"SILLOK_PASSPHRASE": "wrong"})
    assert code == 2
    assert "does not unlock" in err and "Traceback" not in err + out


def test_no_passphrase_without_a_terminal(folder: Path) -> None:
    code, _out, err = run("search", str(folder), "요덕", env={"SILLOK_PASSPHRASE": ""})
    assert code == 2 and "SILLOK_PASSPHRASE" in err


def test_import_search_show_stats_export(folder: Path, tmp_path: Path) -> None:
    code, out, err = run("import", str(folder), str(write_csv(tmp_path / "b.csv", YODOK)), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["committed"] and report["created"]["act"] == 0

    code, out, _ = run("search", str(folder), "Yodok", "--json")
    hits = json.loads(out)
    assert code == 0 and hits and set(hits[0]) == {"kind", "id", "title"}
    act = next(h for h in hits if h["kind"] == "act")

    code, out, _ = run("show", str(folder), "act", str(act["id"]), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["victim"] == "Kim Yo-jong (김여정)"
    code, out, _ = run("show", str(folder), "act", str(act["id"]))
    assert code == 0 and "김여정" in out

    code, out, _ = run("stats", str(folder), "--by", "province", "--json")
    rows = json.loads(out)
    assert code == 0 and {"province", "count"} <= set(rows[0])

    code, out, _ = run("export", str(folder), "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("source_ref,source_type")
    assert len(out.splitlines()) == 1 + len(YODOK)
    assert "Witness Alpha" not in out  # informants are protected


def test_history_shows_the_change(folder: Path, tmp_path: Path) -> None:
    changed = [dict(r) for r in YODOK]
    changed[2]["description"] = "changed text"
    run("import", str(folder), str(write_csv(tmp_path / "c.csv", changed)))
    code, out, _ = run("search", str(folder), "changed", "--json")
    act = next(h for h in json.loads(out) if h["kind"] == "act")
    code, out, _ = run("history", str(folder), "act", str(act["id"]))
    assert code == 0 and "version 2" in out and "changed text" in out


def test_bad_input_exits_2_naming_the_problem(folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("source_ref,act_type,act_date\nS-1,torture,someday\n", "utf-8")
    code, out, err = run("import", str(folder), str(bad))
    assert code == 2 and "row 2, column act_date" in err and "someday" in err
    code, _out, err = run("show", str(folder), "act", "99999")
    assert code == 2 and "no act with id 99999" in err
    code, _out, err = run("stats", str(folder), "--by", "colour")
    assert code == 2 and "--by" in err
    code, _out, err = run("import", str(folder), str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in err


def test_vocab_list(folder: Path) -> None:
    code, out, _ = run("vocab", "list", "--json")
    names = {v["name"] for v in json.loads(out)}
    assert code == 0 and names == {"act_types", "facility_types", "agencies", "places"}
    code, out, _ = run("vocab", "list", "act_types", "--json")
    terms = {t["key"]: t for t in json.loads(out)}
    assert terms["torture"]["labels"]["ko"] == "고문"
    assert "CAT 1" in terms["torture"]["legal_refs"]
    code, out, _ = run("vocab", "list", "act_types", "--lang", "ko")
    assert code == 0 and "고문" in out
    code, _out, err = run("vocab", "list", "colours")
    assert code == 2 and "colours" in err


def test_demo_is_deterministic(tmp_path: Path) -> None:
    for name in ("one", "two"):
        code, out, err = run("demo", str(tmp_path / name), "--size", "60", "--seed", "7")
        assert code == 0, err
        assert "60 acts" in out
    exports = []
    for name in ("one", "two"):
        code, out, _ = run("export", str(tmp_path / name), "--format", "json")
        exports.append(out)
    assert exports[0] == exports[1] and len(exports[0].splitlines()) >= 60


def test_every_command_has_help_and_is_documented() -> None:
    import typer.main

    docs = (Path(__file__).parent.parent / "docs" / "cli.md").read_text("utf-8")
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, name
        assert f"sillok {name}" in docs, f"sillok {name} is not in docs/cli.md"


def test_tour_creates_a_demo_archive_and_queues_linked_persons(tmp_path: Path) -> None:
    code, out, err = run("tour", str(tmp_path / "demo"), "--size", "150")
    assert code == 0, err
    assert "Created a demo archive of 150 synthetic acts" in out
    assert "Record linkage" in out and "pairs in the review queue" in out
    with Archive.open(tmp_path / "demo", PASSPHRASE) as arch:
        queued = arch.links.queue()
    assert queued, "the tour should leave pairs to review"
    assert f"link {queued[0].id}:" in out  # the most probable pair is shown with its evidence
    # a second tour shows the queue again and does not link twice
    code, again, err = run("tour", str(tmp_path / "demo"))
    assert code == 0, err
    assert "Record linkage" not in again and f"link {queued[0].id}:" in again


def test_search_titles_write_dates_as_people_do(folder: Path) -> None:
    """The table a person reads says "spring 2010", not the stored 2010-21; JSON keeps the
    stored form for programs."""
    code, out, err = run("search", str(folder), "Hyesan")
    assert code == 0, err
    assert "spring 2010" in out and "2010-21" not in out
    code, out, _ = run("search", str(folder), "Hyesan", "--json")
    assert any("2010-21" in h["title"] for h in json.loads(out))
