"""Proof bundles: made from an archive, checked with nothing but the bundle."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody.proofs import BundleCheck, BundleError, verify_bundle
from sillok.errors import SillokError
from sillok.ledger.checkpoint import Signer, author_key_name, is_signed
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()
ENV = {"SILLOK_PASSPHRASE": PASSPHRASE}


def act_id(archive: Archive, description_word: str) -> int:
    from sqlalchemy import select

    from sillok.model import acts

    with archive.store.reading() as conn:
        for row in conn.execute(select(acts.c.id, acts.c.sharing, acts.c.act_type)):
            if description_word == row.sharing or description_word == row.act_type:
                return int(row.id)
    raise AssertionError(description_word)


@pytest.fixture
def filled(archive: Archive, tmp_path: Path) -> Archive:
    """Yodok imported, then the first act's description changed (version 2)."""
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    changed = [dict(r) for r in YODOK]
    changed[0]["description"] = "요덕 관리소에 3년간 수감"
    archive.ingest.run(write_csv(tmp_path / "b.csv", changed))
    return archive


def test_a_bundle_verifies_with_nothing_but_itself(filled: Archive) -> None:
    rid = act_id(filled, "arbitrary_detention")
    bundle = filled.proofs.record("act", rid)
    text = json.dumps(bundle)
    result = verify_bundle(json.loads(text))
    assert isinstance(result, BundleCheck)
    assert (result.kind, result.record_id, result.version) == ("act", rid, 2)
    assert result.fields["description"] == "요덕 관리소에 3년간 수감"
    # an earlier version proves too, with its own text
    old = verify_bundle(filled.proofs.record("act", rid, version=1))
    assert isinstance(old, BundleCheck) and old.fields["description"] == "요덕수용소에 수감되었다"


def tampered(bundle: dict[str, Any], how: str) -> dict[str, Any]:
    bad = copy.deepcopy(bundle)
    if how == "field":
        bad["fields"]["act_type"] += "x"
    elif how == "disclosed":
        bad["fields"]["description"] = "something else"
    elif how == "withheld":
        column = next(iter(bad["withheld"]))
        bad["withheld"][column] = "0" * 64
    elif how == "version":
        bad["record"]["version"] += 1
    elif how == "index":
        bad["entry"]["index"] += 1
    elif how == "proof":
        first = bytearray(__import__("base64").b64decode(bad["inclusion_proof"][0]))
        first[0] ^= 1
        bad["inclusion_proof"][0] = __import__("base64").b64encode(bytes(first)).decode()
    elif how == "checkpoint":
        bad["checkpoint"] = bad["checkpoint"].replace("\n", "\n\n", 1)
    elif how == "column":
        del bad["fields"]["place_id"]
    return bad


def test_any_change_to_a_bundle_fails(filled: Archive) -> None:
    bundle = filled.proofs.record("act", act_id(filled, "arbitrary_detention"))
    assert bundle["withheld"] == {} and "description" in bundle["salts"]
    sealed = filled.proofs.record("act", act_id(filled, "confidential"))
    assert "description" in sealed["withheld"], "the sealed description is withheld"
    for how in ("field", "disclosed", "version", "index", "proof", "checkpoint", "column"):
        verify_bundle(bundle)
        with pytest.raises(BundleError):
            verify_bundle(tampered(bundle, how))
    verify_bundle(sealed)
    with pytest.raises(BundleError):
        verify_bundle(tampered(sealed, "withheld"))


def test_a_bundle_signed_by_another_key_fails(filled: Archive) -> None:
    bundle = filled.proofs.record("act", act_id(filled, "public"))
    stranger = Signer.generate(bundle["verifier_key"].split("+")[0]).verifier_key()
    with pytest.raises(BundleError, match="checkpoint does not verify"):
        verify_bundle(bundle, [stranger])
    assert isinstance(verify_bundle(bundle, [bundle["verifier_key"]]), BundleCheck)


def test_withheld_fields_are_not_in_the_bundle(filled: Archive) -> None:
    rid = act_id(filled, "confidential")
    bundle = filled.proofs.record("act", rid)
    text = json.dumps(bundle, ensure_ascii=False)
    assert "Beaten during interrogation" not in text  # sealed: withheld even for an admin
    assert "description" in bundle["withheld"] and "description" not in bundle["salts"]
    folder = filled.folder
    filled.users.add("coord", "coordinator", "coordinator passphrase")
    filled.close()
    with Archive.open(folder, "coordinator passphrase", settings=FAST, user="coord") as coord:
        hidden = coord.proofs.record("act", act_id(coord, "confidential"))
        shown = coord.proofs.record("act", act_id(coord, "internal"))
    # a coordinator reads only the general fields of a confidential act
    assert {"victim_id", "description"} <= set(hidden["withheld"])
    assert isinstance(verify_bundle(hidden), BundleCheck)
    assert "victim_id" in shown["fields"] and "description" in shown["salts"]


def test_consistency_between_checkpoints(filled: Archive, tmp_path: Path) -> None:
    with filled.store.reading() as conn:
        old = filled.log.head(conn).size
    filled.ingest.run(write_csv(tmp_path / "c.csv", [dict(YODOK[2], source_ref="S-9")]))
    bundle = filled.proofs.consistency(old)
    assert verify_bundle(bundle) == {
        "origin": bundle["old_checkpoint"].split("\n")[0],
        "old_size": old,
        "new_size": int(bundle["new_checkpoint"].split("\n")[1]),
    }
    bad = copy.deepcopy(bundle)
    bad["consistency_proof"] = bad["consistency_proof"][:-1]
    with pytest.raises(BundleError, match="consistency proof fails"):
        verify_bundle(bad)


def test_the_commands_write_and_check_a_bundle(filled: Archive, tmp_path: Path) -> None:
    folder = filled.folder
    rid = act_id(filled, "public")
    filled.close()
    out = tmp_path / "bundle.json"
    result = runner.invoke(
        app, ["proof", str(folder), "--record", f"act:{rid}", "--output", str(out)], env=ENV
    )
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["proof", "verify", str(out)], env={})
    assert result.exit_code == 0, result.stderr
    assert f"VERIFIED: act {rid} version 1" in result.stdout
    data = json.loads(out.read_text())
    data["fields"]["act_type"] = "torture"
    out.write_text(json.dumps(data))
    result = runner.invoke(app, ["proof", "verify", str(out)], env={})
    assert result.exit_code == 2 and "error:" in result.stderr
    result = runner.invoke(app, ["proof", str(folder), "--record", "act-1"], env=ENV)
    assert result.exit_code == 2 and "KIND:ID" in result.stderr


def test_an_administrator_countersigns_what_a_documenter_wrote(tmp_path: Path) -> None:
    """Only administrators hold the signing key: a documenter's write leaves the head unsigned
    until an administrator's handle (the web server's) signs it; then the proof can be made."""
    with Archive.create(tmp_path / "a", PASSPHRASE, settings=FAST) as admin:
        admin.users.add("doc", "documenter", "documenter passphrase 77")
        with Archive.open(
            tmp_path / "a", "documenter passphrase 77", settings=FAST, user="doc"
        ) as doc:
            doc.ingest.run(write_csv(tmp_path / "y.csv", YODOK))
            with pytest.raises(SillokError, match="administrator"):
                doc.proofs.record("act", 1)
            assert doc.proofs.sign_head() is False  # no signing key
            assert admin.proofs.sign_head() is True
            assert admin.proofs.sign_head() is False  # already signed
            bundle = doc.proofs.record("act", 1)
        assert isinstance(verify_bundle(bundle), BundleCheck)
        assert admin.verification.run().ok


def test_a_bundle_does_not_say_who_wrote_the_record(filled: Archive, tmp_path: Path) -> None:
    """A documenter writes (their author key signs the head); once an administrator's session
    countersigns it, the bundle's checkpoint carries the organisation's signature alone."""
    folder = filled.folder
    passphrase = "the documenter keeps seven lanterns lit on the Amnok"
    filled.users.add("u.documenter", "documenter", passphrase)
    with Archive.open(folder, passphrase, settings=FAST, user="u.documenter") as documenter:
        changed = [dict(YODOK[0], description="관리소에서 4년")]
        documenter.ingest.run(write_csv(tmp_path / "c.csv", changed))
        with documenter.store.reading() as conn:
            written = documenter.log.head(conn)
    assert is_signed(written.checkpoint, author_key_name(written.origin))
    with pytest.raises(SillokError, match="after the log's newest head signed"):
        filled.proofs.record("act", act_id(filled, "arbitrary_detention"))
    assert filled.proofs.sign_head()
    bundle = filled.proofs.record("act", act_id(filled, "arbitrary_detention"))
    assert not is_signed(bundle["checkpoint"], author_key_name(written.origin))
    result = verify_bundle(bundle)
    assert isinstance(result, BundleCheck) and result.fields["description"] == "관리소에서 4년"
