"""The access policy: the decisions themselves, and every way in applying them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sillok.archive import Archive
from sillok.model import metadata
from sillok.security import policy
from sillok.security.policy import (
    ANONYMOUS,
    PROTECTED,
    REDACTED,
    ROLES,
    SHARING_LEVELS,
    Access,
    access,
    may,
    may_see,
    redact_row,
    redactable,
)
from tests.conftest import FAST
from tests.datasets import YODOK, write_csv

IDENTITY = ("acts", "victim_id")
NARRATIVE = ("acts", "description")


def test_every_classified_column_exists() -> None:
    for table, columns in policy.FIELD_CLASSES.items():
        assert table in metadata.tables, table
        for column, cls in columns.items():
            assert column in metadata.tables[table].c, f"{table}.{column}"
            assert cls in policy.FIELD_CLASS_NAMES


def test_sealed_columns_can_be_withheld_from_proofs() -> None:
    for table, column in (
        ("person_names", "name"),
        ("person_contacts", "value"),
        ("sources", "narrative"),
        ("acts", "description"),
        ("events", "description"),
    ):
        assert column in redactable(table), f"{table}.{column}"


@pytest.mark.parametrize(
    ("role", "level", "field", "expected"),
    [
        ("admin", "confidential", IDENTITY, Access.CHANGE),
        ("documenter", "confidential", NARRATIVE, Access.CHANGE),
        ("reviewer", "confidential", IDENTITY, Access.READ),
        ("reviewer", "confidential", ("person_contacts", "value"), Access.REDACT),
        ("coordinator", "confidential", NARRATIVE, Access.REDACT),
        ("coordinator", "internal", IDENTITY, Access.READ),
        ("analyst", "confidential", ("persons", "sex"), Access.READ),
        ("analyst", "confidential", IDENTITY, Access.REDACT),
        ("analyst", "internal", IDENTITY, Access.REDACT),
        ("analyst", "public", IDENTITY, Access.READ),
        ("viewer", "confidential", ("acts", "act_type"), Access.READ),
        ("viewer", "internal", IDENTITY, Access.REDACT),
        ("viewer", "internal", NARRATIVE, Access.READ),
        (ANONYMOUS, "public", NARRATIVE, Access.READ),
        (ANONYMOUS, "internal", ("acts", "act_type"), Access.REDACT),
    ],
)
def test_decisions(role: str, level: str, field: tuple[str, str], expected: Access) -> None:
    assert access(role, level, *field) is expected


def test_record_visibility_and_actions() -> None:
    assert all(may_see(role, level) for role in ROLES for level in SHARING_LEVELS)
    assert may_see(ANONYMOUS, "public") and not may_see(ANONYMOUS, "internal")
    assert may("documenter", "write") and not may("analyst", "write")
    assert may("admin", "users") and not may("documenter", "users")
    assert policy.may_open_sealed("documenter") and not policy.may_open_sealed("reviewer")
    with pytest.raises(ValueError, match="unknown role"):
        access("intern", "public", *IDENTITY)
    with pytest.raises(ValueError, match="unknown action"):
        may("admin", "launch")


@given(
    role=st.sampled_from([*ROLES, ANONYMOUS]),
    level=st.sampled_from(SHARING_LEVELS),
    values=st.lists(st.text(min_size=1, max_size=20), min_size=4, max_size=4),
)
def test_a_redacted_field_never_shows_its_value(
    role: str, level: str, values: list[str]
) -> None:
    row = {
        "id": 1,
        "act_type": "torture",
        "description": values[0],
        "victim_id": 7,
        "sharing": level,
        "ref": values[1],
    }
    shown = redact_row(role, "acts", row, pseudonym=lambda t, i: f"person-{i * 1000003:x}")
    for column in ("description", "victim_id"):
        if access(role, level, "acts", column) is Access.REDACT:
            assert shown[column] != row[column]
            assert shown[column] in (REDACTED, f"person-{7 * 1000003:x}")
        else:
            assert shown[column] == row[column]
    assert shown["act_type"] == ("torture" if may_see(role, level) else REDACTED)


# --- every way in ----------------------------------------------------------------------------


def _as(archive: Archive, role: str) -> Archive:
    """The same archive, opened by a new user of ``role``."""
    name = f"{role}-user"
    archive.users.add(name, role, f"{role} passphrase!")
    return Archive.open(archive.folder, f"{role} passphrase!", settings=FAST, user=name)


def test_show_history_search_and_export_apply_the_policy(
    archive: Archive, tmp_path: Path
) -> None:
    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    with _as(archive, "viewer") as viewer:
        # without words (a word could match a field the viewer may not read), filters list
        # every act the viewer may see
        hits = viewer.searcher.search("", viewer.searcher.act_filter(place="Yodok"))
        confidential = next(
            h.id
            for h in hits
            if h.kind == "act" and viewer.records.show("act", h.id)["sharing"] == "confidential"
        )
        shown = viewer.records.show("act", confidential)
        history = viewer.records.history("act", confidential)
        out = io.StringIO()
        viewer.exports.write(out, "json")
        titles = " ".join(h.title for h in viewer.searcher.search("김여정"))
    text = json.dumps([shown, history], ensure_ascii=False) + out.getvalue() + titles
    for secret in ("Kim Yo-jong", "김여정", "Beaten during interrogation", "Witness Alpha"):
        assert secret not in text, secret
    assert shown["description"] == REDACTED and shown["victim"].startswith("person-")
    assert shown["act_type"] == "torture"  # general fields stay readable
    # the administrator sees the victim, and the sealed description only when revealing it
    plain = archive.records.show("act", confidential)
    assert plain["victim"] == "Kim Yo-jong (김여정)" and plain["description"] == PROTECTED
    revealed = archive.records.show("act", confidential, reveal=True)
    assert revealed["description"] == "Beaten during interrogation"
    opened = archive.audit.events(action="open_sealed")
    assert opened and opened[0]["detail"]["table"] == "acts"


def test_protected_export_needs_the_right_role(archive: Archive, tmp_path: Path) -> None:
    from sillok.errors import InvalidInput

    archive.ingest.run(write_csv(tmp_path / "a.csv", YODOK))
    out = io.StringIO()
    archive.exports.write(out, "json", include_protected=True)
    assert "Witness Alpha" in out.getvalue()
    assert archive.audit.events(action="export")[0]["detail"]["include_protected"] is True
    with _as(archive, "documenter") as documenter, pytest.raises(InvalidInput, match="may not"):
        documenter.exports.write(io.StringIO(), "json", include_protected=True)


def test_the_security_doc_names_every_role_and_action() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "security.md").read_text("utf-8")
    for role in ROLES:
        assert f"| {role} |" in doc, role
    for action in policy.ACTIONS:
        assert f"`{action}`" in doc, action
    for role, seal in (("admin", "yes"), ("documenter", "yes"), ("reviewer", "no")):
        line = next(x for x in doc.splitlines() if x.startswith(f"| {role} |"))
        assert line.endswith(f"| {seal} |")
        assert policy.may_open_sealed(role) == (seal == "yes")
