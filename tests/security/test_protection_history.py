"""Red team, issue 12 finding 3: making a record confidential hides its earlier text too.

An act imported as internal and then, re-imported, as confidential: its description is sealed
from version 2 on, but history and proofs apply each old version's own sharing level, so the
viewer, analyst, coordinator and reviewer read version 1's text. The plaintext also stays in
``record_versions`` and in the full-text index's pages, for anyone holding the database key.

Each test makes the attack and asserts the safe outcome; the ones that fail on the code of
today are marked ``xfail(strict=True)`` (the marker must come off with the fix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from sillok.errors import InvalidInput, NotFound
from sillok.security.policy import may
from tests.datasets import row, write_csv
from tests.security.conftest import opened_as

#: the act's description, written while the act was internal
EARLIER = "Qxearliertextqx beaten in the cellar 큐엑스지하실"
MARKS = ("qxearliertextqx", "큐엑스지하실")
LATER_ROLES = ("viewer", "analyst", "coordinator", "reviewer")




def leaks(value: Any) -> list[str]:
    """The marks of the earlier text found in ``value`` (any JSON-able thing)."""
    dumped = json.dumps(value, ensure_ascii=False, default=str).lower()
    return [m for m in MARKS if m in dumped]


def made_confidential(archive: Archive, tmp_path: Path) -> int:
    """An act imported as internal, then the same act imported as confidential (with the
    same text); returns its id, now at version 2."""
    act = row(source_ref="S-1", act_type="torture", act_date="2011", victim_ref="V-1",
              victim_name="Kim Chol", description=EARLIER, sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "internal.csv", [act]))
    archive.ingest.run(write_csv(tmp_path / "confidential.csv", [{**act,
                                                                   "sharing": "confidential"}]))
    with archive.store.reading() as conn:
        act_id, version, sharing = conn.execute(
            text("SELECT id, version, sharing FROM acts")
        ).one()
    assert (version, sharing) == (2, "confidential")
    # the current version is sealed: no role reads it without an audited opening
    assert not leaks(archive.records.show("act", act_id))
    return int(act_id)


def test_history_hides_text_written_before_the_record_became_confidential(
    archive: Archive, tmp_path: Path
) -> None:
    """No role that may not read the act's text now reads any of it in its history."""
    act_id = made_confidential(archive, tmp_path)
    seen = {}
    for role in LATER_ROLES:
        with opened_as(archive, role) as other:
            try:
                shown = other.records.history("act", act_id)
            except NotFound:
                continue
        if leaks(shown):
            seen[role] = shown[0].get("description")
    assert not seen, f"the earlier text in the history: {seen}"


def test_a_proof_of_an_earlier_version_hides_its_text(archive: Archive, tmp_path: Path) -> None:
    """A proof bundle of version 1, made by each role that may make proofs but not read the
    act now: the description is withheld as its commitment (or no bundle is made)."""
    act_id = made_confidential(archive, tmp_path)
    seen = {}
    for role in [r for r in LATER_ROLES if may(r, "proof")]:
        with opened_as(archive, role) as other:
            try:
                bundle = other.proofs.record("act", act_id, version=1)
            except (NotFound, InvalidInput):
                continue
        if leaks(bundle) or "description" not in bundle["withheld"]:
            seen[role] = bundle["fields"].get("description")
    assert not seen, f"the earlier text in bundles of version 1: {seen}"


def test_roles_without_proofs_get_none_of_an_earlier_version(
    archive: Archive, tmp_path: Path
) -> None:
    """Viewer and analyst may make no proof bundle at all (holds today; a guard)."""
    act_id = made_confidential(archive, tmp_path)
    for role in [r for r in LATER_ROLES if not may(r, "proof")]:
        with opened_as(archive, role) as other, pytest.raises(InvalidInput):
            other.proofs.record("act", act_id, version=1)


def test_the_earlier_text_is_not_kept_in_the_clear_in_record_versions(
    archive: Archive, tmp_path: Path
) -> None:
    """Anyone holding the database key (every role) reads record_versions: once the act is
    confidential its earlier text there is sealed or purged."""
    made_confidential(archive, tmp_path)
    with archive.store.reading() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT data FROM record_versions"))]
    assert not leaks(stored), "record_versions holds the earlier text in the clear"


def _fts_pages(archive: Archive) -> bytes:
    """Every byte of the SQLCipher full-text index's own tables (its segments)."""
    with archive.store.reading() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE "
                     "'search_fts_%'")
            )
        ]
        blobs = []
        for table in tables:
            for values in conn.execute(text(f'SELECT * FROM "{table}"')):
                blobs += [v if isinstance(v, bytes) else str(v).encode() for v in values]
    return b"".join(blobs)


def test_the_earlier_text_leaves_the_search_index(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    """The index's segments (readable with the database key) no longer hold the earlier
    text's words once the act is confidential."""
    made_confidential(sqlcipher_archive, tmp_path)
    kept = b"qxearliertextqx" in _fts_pages(sqlcipher_archive).lower()
    assert not kept, "the index's segments still hold the earlier text's words"


def test_no_role_finds_the_confidential_act_by_its_earlier_text(
    archive: Archive, tmp_path: Path
) -> None:
    """A search by the earlier words finds nothing for the roles that may not read the act
    (holds today: the document was replaced; a guard)."""
    act_id = made_confidential(archive, tmp_path)
    for role in LATER_ROLES:
        with opened_as(archive, role) as other:
            hits = other.searcher.search("Qxearliertextqx")
        assert ("act", act_id) not in [(h.kind, h.id) for h in hits], role
