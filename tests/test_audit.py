"""The audit trail: writes, sealed-field openings, exports, proofs, logins, and its own log."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv


def test_what_is_audited(archive: Archive, tmp_path: Path) -> None:
    folder = archive.folder
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    writes = archive.audit.events(action="write", limit=1000)
    tables = {e["detail"]["table"] for e in writes}
    assert {"acts", "persons", "person_names", "sources", "events", "act_sources"} <= tables
    assert all(e["actor"] == "owner" for e in writes)
    acts = next(e for e in writes if e["detail"]["table"] == "acts")
    assert acts["detail"]["op"] == "insert" and acts["detail"]["rows"] == 3
    confidential = next(
        h.id
        for h in archive.searcher.search("Yodok")
        if h.kind == "act" and archive.records.show("act", h.id)["sharing"] == "confidential"
    )
    archive.records.show("act", confidential, reveal=True)
    archive.exports.write(io.StringIO(), "csv")
    archive.proofs.record("act", confidential)
    archive.close()
    with Archive.open(folder, PASSPHRASE, settings=FAST) as again:
        actions = [e["action"] for e in again.audit.events(limit=1000)]
        opened = again.audit.events(action="open_sealed")
    assert {"write", "open_sealed", "export", "proof", "login"} <= set(actions)
    assert actions[0] == "login"  # newest first
    assert opened[0]["detail"] == {"table": "acts", "column": "description", "row": confidential}


def test_the_trail_never_holds_a_protected_value(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    pid = next(h.id for h in archive.searcher.search("김여정") if h.kind == "person")
    archive.protection.protect(pid)
    archive.records.show("person", pid, reveal=True)
    archive.exports.write(io.StringIO(), "json", include_protected=True)
    trail = json.dumps(archive.audit.events(limit=10_000), ensure_ascii=False)
    for secret in ("Witness Alpha", "Kim Yo-jong", "김여정", "Beaten during interrogation"):
        assert secret not in trail


def test_the_trail_is_in_the_log(archive: Archive, tmp_path: Path) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK[:1]))
    assert archive.verification.run().ok
    with archive.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = "
                          "(SELECT max(id) FROM audit_events WHERE action = 'write')"))
    report = archive.verification.run()
    assert not report.ok and "audit_events" in report.problems[0]


def test_details_are_kept_flat_and_actions_known(sqlcipher_archive: Archive) -> None:
    audit = sqlcipher_archive.audit
    with pytest.raises(TypeError, match="'row'"):
        audit.record("export", detail={"row": {"name": "nested data"}})
    with pytest.raises(ValueError, match="'peek'"):
        audit.record("peek")
    audit.record("verify", detail={"ok": True, "entries": 3, "tables": ["acts", "events"]})
    assert audit.events(action="verify")[0]["detail"]["tables"] == ["acts", "events"]
