"""Red team, issue 12 finding 4: a ref never carries a protected person's name.

A named perpetrator's ref is ``perpetrator:{source}:{name}``, and ``protect`` leaves it as it
is, so every role reads the protected name in ``ref`` next to ``names: ["[protected]"]``: in
``show``, in proof bundles, and in the persons table for anyone holding the database key. A
user-chosen ``victim_ref`` that contains a name does the same, in exports too.

Each test makes the attack and asserts the safe outcome; the ones that fail on the code of
today are marked ``xfail(strict=True)`` (the marker must come off with the fix); none is
left. Only an audited opening (``reveal``, an admin's export with the protected fields) may
show the name.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from sillok.custody.proofs import BundleCheck, verify_bundle
from sillok.errors import InvalidInput
from sillok.ledger import entries
from sillok.security.policy import ROLES, may
from tests.datasets import row, write_csv
from tests.security.conftest import opened_as, staged

PERPETRATOR = "Qxperpname Kim"
#: a victim_ref as people write them: the victim's name
NAMED_REF = "Qxrefname Choe"
MARKS = ("qxperpname", "qxrefname")




def leaks(value: Any) -> list[str]:
    dumped = json.dumps(value, ensure_ascii=False, default=str).lower()
    return [m for m in MARKS if m in dumped]


def protected_pair(
    archive: Archive, tmp_path: Path, protect: bool = True
) -> tuple[int, int, int]:
    """One act whose victim has a name for a ref and whose named perpetrator is direct; both
    are then protected. Returns (act, victim, perpetrator) ids."""
    act = row(source_ref="S-1", act_type="torture", act_date="2011", victim_ref=NAMED_REF,
              victim_name="Choe Myong", perpetrator_name=PERPETRATOR,
              perpetrator_role="direct", description="beaten", sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "act.csv", [act]))
    with archive.store.reading() as conn:
        act_id, victim = conn.execute(text("SELECT id, victim_id FROM acts")).one()
        perpetrator = conn.execute(
            text("SELECT person_id FROM act_perpetrators WHERE person_id IS NOT NULL")
        ).scalar_one()
    for person in (victim, perpetrator) if protect else ():
        archive.protection.protect(person)
    return int(act_id), int(victim), int(perpetrator)


def test_showing_a_protected_person_shows_no_name(archive: Archive, tmp_path: Path) -> None:
    """``show person`` (what the CLI, the page and the API render) without reveal, for every
    role."""
    _act, victim, perpetrator = protected_pair(archive, tmp_path)
    seen = {}
    for role in ROLES:
        with opened_as(archive, role) as other:
            shown = [other.records.show("person", p) for p in (victim, perpetrator)]
        assert all(s["names"] == ["[protected]"] for s in shown), role
        if leaks(shown):
            seen[role] = [s["ref"] for s in shown]
    assert not seen, f"protected names in refs: {seen}"


def test_a_proof_of_a_protected_person_shows_no_name(archive: Archive, tmp_path: Path) -> None:
    """A proof bundle of each protected person, by each role that may make proofs."""
    _act, victim, perpetrator = protected_pair(archive, tmp_path)
    seen = {}
    for role in [r for r in ROLES if may(r, "proof")]:
        with opened_as(archive, role) as other:
            bundles = [other.proofs.record("person", p) for p in (victim, perpetrator)]
        if leaks(bundles):
            seen[role] = [b["fields"].get("ref") for b in bundles]
    assert not seen, f"protected names in the bundles: {seen}"


def test_the_persons_table_holds_no_protected_name(archive: Archive, tmp_path: Path) -> None:
    """Anyone holding the database key (every role) reads persons.ref."""
    protected_pair(archive, tmp_path)
    with archive.store.reading() as conn:
        refs = [r[0] for r in conn.execute(text("SELECT ref FROM persons WHERE protected"))]
    assert not leaks(refs), f"refs in the clear: {refs}"


#: today's exports carry the victim_ref with the name for these roles
EXPORT_LEAKS_TODAY = ("admin", "coordinator", "documenter", "reviewer")


def _export_leaks(archive: Archive, tmp_path: Path, roles: tuple[str, ...]) -> dict[str, Any]:
    protected_pair(archive, tmp_path)
    seen = {}
    for role in roles:
        with opened_as(archive, role) as other:
            out = []
            for fmt in ("json", "csv"):
                buffer = io.StringIO()
                other.exports.write(buffer, fmt)
                out.append(buffer.getvalue())
        if leaks(out):
            seen[role] = leaks(out)
    return seen


def test_an_export_shows_no_protected_name(archive: Archive, tmp_path: Path) -> None:
    """The exports (JSON lines and CSV, without the protected fields) of the roles whose
    export shows the named victim_ref today."""
    seen = _export_leaks(archive, tmp_path, EXPORT_LEAKS_TODAY)
    assert not seen, f"protected names in exports: {seen}"


def test_the_other_exports_show_no_protected_name(archive: Archive, tmp_path: Path) -> None:
    """The viewer's and analyst's exports (victim refs redacted): no protected name, the
    perpetrator's included (its column shows the sealed value). Holds today; a guard."""
    others = tuple(r for r in ROLES if r not in EXPORT_LEAKS_TODAY)
    assert not _export_leaks(archive, tmp_path, others)


def test_the_act_shows_no_protected_perpetrator_name(archive: Archive, tmp_path: Path) -> None:
    """``show act`` for every role: the protected perpetrator's name is not in it (holds
    today; a guard)."""
    act, _victim, _perpetrator = protected_pair(archive, tmp_path)
    for role in ROLES:
        with opened_as(archive, role) as other:
            assert not leaks(other.records.show("act", act)), role


# --- the refs of earlier versions (issue 12, finding 4: what protect leaves in the history) --


def test_the_history_of_a_protected_person_shows_no_earlier_ref(
    archive: Archive, tmp_path: Path
) -> None:
    """Version 1 of the victim was written with ``ref = victim:Qxrefname Choe``, and of the
    perpetrator with ``perpetrator:S-1:Qxperpname Kim``-like refs made before they were
    protected. ``history`` (CLI, page, API) and a proof of version 1, for every role, show
    neither: an earlier ref that differs from a protected person's ref of today is
    ``[protected]``, and no bundle of such a version is made. Holds today; a guard."""
    _act, victim, perpetrator = protected_pair(archive, tmp_path)
    with archive.store.reading() as conn:
        kept = conn.execute(
            text("SELECT count(*) FROM record_versions WHERE record_kind = 'person'")
        ).scalar_one()
    assert kept >= 2  # the versions written before protect are kept
    seen: dict[str, list[str]] = {}
    for role in ROLES:
        with opened_as(archive, role) as other:
            shown: list[Any] = [other.records.history("person", p) for p in (victim, perpetrator)]
            if may(role, "proof"):
                for person in (victim, perpetrator):
                    try:
                        shown.append(other.proofs.record("person", person, 1))
                    except InvalidInput as exc:  # refused: the ref was withdrawn at protect
                        shown.append(str(exc))
        if leaks(shown):
            seen[role] = leaks(shown)
    assert not seen, f"protected names in the history: {seen}"


def test_the_kept_versions_hold_no_protected_name(archive: Archive, tmp_path: Path) -> None:
    """Anyone holding the database key (every role) reads record_versions directly."""
    protected_pair(archive, tmp_path)
    with archive.store.reading() as conn:
        kept = [r[0] for r in conn.execute(
            text("SELECT data FROM record_versions WHERE record_kind = 'person'")
        )]
    staged(kept, "protect kept the earlier versions")
    assert not leaks(kept), "an earlier ref in record_versions names the protected person"


def _kept_refs(archive: Archive) -> list[tuple[int, str]]:
    with archive.store.reading() as conn:
        return [(int(i), str(d)) for i, d in conn.execute(
            text("SELECT id, data FROM record_versions WHERE record_kind = 'person'")
        )]


def test_the_log_verifies_after_the_earlier_refs_left_the_history(
    archive: Archive, tmp_path: Path
) -> None:
    """The kept refs are their commitments in the log: ``verify`` passes, and the history
    shows ``[protected]`` in their place."""
    _act, victim, _perpetrator = protected_pair(archive, tmp_path)
    kept = _kept_refs(archive)
    # the victim's version 1 had the chosen ref (a name); the perpetrator's ref was keyed
    # already and did not change, so it stays
    assert any('"ref": "withheld:v1:' in data for _id, data in kept), kept
    verified = archive.verification.run()
    assert verified.ok, verified.problems
    assert archive.records.history("person", victim)[0]["ref"] == "[protected]"


def test_tampering_with_a_withheld_ref_is_found(archive: Archive, tmp_path: Path) -> None:
    """An attacker with the database key puts another commitment in place of a withheld
    ref (to pass off another value as the earlier one): verify fails."""
    protected_pair(archive, tmp_path)
    [(kept_id, data)] = [k for k in _kept_refs(archive) if '"ref": "withheld:v1:' in k[1]]
    start = data.index("withheld:v1:") + len("withheld:v1:")
    forged = data[:start] + "0" * 64 + data[start + 64 :]
    with archive.store.transaction() as conn:
        conn.execute(text("UPDATE record_versions SET data = :d WHERE id = :i"),
                     {"d": forged, "i": kept_id})
    assert not archive.verification.run().ok


def test_a_person_logged_with_the_ref_in_the_clear_still_verifies(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An archive whose persons were logged before the ref was committed salted: verify and
    proofs accept the old form; protect leaves such a kept ref as it is (no commitment of the
    ref alone exists), and verify still passes (the limit docs/security.md states)."""
    with monkeypatch.context() as patched:
        patched.setitem(entries.SHAPES, "persons", entries.LEGACY_SHAPES["persons"])
        _act, victim, perpetrator = protected_pair(archive, tmp_path, protect=False)
    for person in (victim, perpetrator):  # after the upgrade
        archive.protection.protect(person)
    verified = archive.verification.run()
    assert verified.ok, verified.problems
    assert any("qxrefname" in data.lower() for _id, data in _kept_refs(archive))
    # version 1 of the perpetrator (logged in the old form; its keyed ref did not change)
    old = archive.proofs.record("person", perpetrator, 1)
    assert "ref" in old["fields"] and "ref" not in old["salts"]
    # version 2 of the victim (written by protect, in the new form)
    new = archive.proofs.record("person", victim)
    assert "ref" in new["fields"] and "ref" in new["salts"]
    for bundle in (old, new):
        assert isinstance(verify_bundle(bundle), BundleCheck)
