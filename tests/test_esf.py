"""HURIDOCS Events Standard Formats: the vocabularies' micro-thesaurus codes and the export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok import vocab
from sillok.archive import Archive
from sillok.cli import app
from sillok.dates import parse_date
from sillok.records import esf as esf_export
from sillok.vocab import esf
from tests.conftest import PASSPHRASE
from tests.security.conftest import opened_as
from tests.test_uwazi import ACTS, write_csv

DOCS = Path(__file__).parent.parent / "docs" / "vocabularies.md"


def test_the_codes_of_some_terms() -> None:
    assert str(esf.nearest_code("act_types", "torture")) == "MT04:020111110000"
    assert str(esf.nearest_code("act_types", "forced_repatriation")) == "MT04:380101000000"
    # a term without its own code takes its nearest coded ancestor's
    assert esf.term_code(vocab.load("act_types").get("public_execution")) is None
    assert esf.nearest_code("act_types", "public_execution") == esf.nearest_code(
        "act_types", "execution")
    assert str(esf.nearest_code("places", "kwanliso-15")) == "MT17:090200000000"
    assert str(esf.nearest_code("places", "KP-08")) == "MT17:100200000000"
    assert str(esf.nearest_code("facility_types", "kyohwaso")) == "MT17:030600000000"
    assert str(esf.nearest_code("agencies", "mss")) == "MT24:010106000000"
    assert esf.nearest_code("agencies", "wpk") is None
    assert str(esf.value_code("perpetrator_role", "ordered")) == "MT18:010200000000"
    assert esf.value_code("perpetrator_role", "accomplice") is None
    assert esf.nearest_code("act_types", "no_such_act") is None


def test_date_types() -> None:
    def kind(text: str) -> str | None:
        found = esf.date_type(parse_date(text))
        return found.code if found else None

    assert kind("2009-03-15") is None
    assert kind("2009-03") == esf.UNKNOWN_DAY
    assert kind("2009") == esf.UNKNOWN_MONTH_AND_DAY
    assert kind("around 2005") == kind("1990s") == kind("2008-2011") == esf.ESTIMATE


def test_every_code_is_well_formed_and_every_uncoded_term_is_documented() -> None:
    """docs/vocabularies.md names each live term that has no code of its own."""
    documented = DOCS.read_text(encoding="utf-8")
    section = documented.split("### Terms without an ESF code", 1)[1].split("\n## ", 1)[0]
    for name, mt in esf.VOCABULARY_MT.items():
        for term in vocab.load(name):
            code = term.extra.get("esf")
            if code is None:
                if name != "places":
                    assert f"`{term.key}`" in section, f"{name}.{term.key} is not documented"
            else:
                coded = esf.term_code(term)
                assert re.fullmatch(r"\d{12}", code) and coded is not None and coded.mt == mt


def test_a_malformed_code_is_refused() -> None:
    doc = vocab.load("agencies").to_dict()
    doc["terms"][0]["extra"]["esf"] = "0101"
    assert any("12-digit ESF code" in p for p in vocab.validate(doc))


@pytest.fixture
def filled(sqlcipher_archive: Archive, tmp_path: Path) -> Archive:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
    return sqlcipher_archive


def test_the_export(filled: Archive, tmp_path: Path) -> None:
    path = tmp_path / "esf.json"
    assert esf_export.export_json(filled.exports, path) == len(ACTS)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) >= {"events", "acts", "involvements", "micro_thesauri"}
    acts = {a["record"]: a for a in doc["acts"]}
    detention = next(a for a in doc["acts"] if a["type_of_act"]["sillok"] == "arbitrary_detention")
    assert detention["type_of_act"]["esf"]["code"] == "030102000000"
    assert detention["type_of_act"]["esf"]["mt"] == 4
    assert (detention["initial_date"], detention["final_date"]) == ("2009-03-01", "2009-03-31")
    assert detention["initial_date_type"]["code"] == esf.UNKNOWN_DAY
    assert detention["type_of_location"]["code"] == "090200000000"  # the kwanliso
    event = next(e for e in doc["events"] if e["record"] == "E-001")
    assert detention["record"] in event["acts"] and event["initial_date"] == "2009-01-01"
    ordered = [i for i in doc["involvements"] if i["degree_of_involvement"]["sillok"] == "ordered"]
    assert {i["perpetrator"].get("sillok") or i["perpetrator"].get("name") for i in ordered} == {
        "mss", "kpa", "Kang Ho", "Jo Myong"}
    mss = next(i for i in ordered if i["perpetrator"].get("sillok") == "mss")
    assert mss["type_of_perpetrator"]["code"] == "010106000000"
    assert mss["degree_of_involvement"]["esf"]["code"] == "010200000000"
    assert all(i["act"] in acts for i in doc["involvements"])
    exports = filled.audit.events(action="export")
    assert any(e["detail"].get("format") == "esf" for e in exports)


def test_a_viewer_exports_what_a_viewer_may_see(filled: Archive, tmp_path: Path) -> None:
    path = tmp_path / "viewer.json"
    with opened_as(filled, "viewer") as viewer:
        esf_export.export_json(viewer.exports, path)
    shown = path.read_text(encoding="utf-8")
    for secret in ("Witness Alpha", "Beaten during interrogation", "Pak Chol"):
        assert secret not in shown


def test_the_command_line(filled: Archive, tmp_path: Path) -> None:
    filled.close()
    out = tmp_path / "cli.json"
    result = CliRunner().invoke(
        app, ["export", str(filled.folder), "--format", "esf", "--output", str(out)],
        env={"SILLOK_PASSPHRASE": PASSPHRASE},
    )
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(out.read_text(encoding="utf-8"))["acts"]) == len(ACTS)
