"""Red team, issue 12 findings 1 and 2: imports never undo a protection, and an export
imported again changes nothing and loses nothing.

1. A routine re-import un-protects a person: a second row naming a protected victim's
   ``victim_ref`` sets ``persons.protected`` back to false and stores the new names in the
   clear, where a viewer's search finds them. Re-importing an admin export does the same.
2. Re-importing an admin export corrupts data: confidential descriptions become the literal
   ``[protected]`` and a victim named ``[protected]`` appears. An admin's full export imported
   into a fresh archive must give the same records.

Each test makes the attack and asserts the safe outcome; the ones that fail on the code of
today are marked ``xfail(strict=True)`` (the marker must come off with the fix).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sillok.archive import Archive
from sillok.demo import populate
from sillok.errors import InvalidInput
from sillok.security.policy import PROTECTED, REDACTED, ROLES
from sillok.security.seal import is_sealed
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, row, write_csv
from tests.security.conftest import opened_as

#: a later testimony's names for a victim protected after the first import
LATER_NAME, LATER_HANGUL = "Qxlatername Lee", "큐엑스나중이름"


# --- helpers --------------------------------------------------------------------------------




def sql(archive: Archive, query: str, **params: Any) -> list[Any]:
    """Rows of a query on the store, as anyone holding the database key can run it."""
    with archive.store.reading() as conn:
        return list(conn.execute(text(query), params).all())


def acts_in_order(archive: Archive) -> list[tuple[int, int | None]]:
    """(act id, victim id) of every act, oldest first."""
    return [(r[0], r[1]) for r in sql(archive, "SELECT id, victim_id FROM acts ORDER BY id")]


def stored_names(archive: Archive, person_id: int) -> list[str]:
    """A person's names as the database holds them (sealed or not)."""
    return [r[0] for r in sql(archive, "SELECT name FROM person_names WHERE person_id = :p",
                               p=person_id)]


def export(archive: Archive, path: Path, include_protected: bool) -> Path:
    """The archive's export as its user may make it, written to ``path`` (csv)."""
    buffer = io.StringIO()
    archive.exports.write(buffer, "csv", include_protected=include_protected)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


# --- what an admin sees, to compare archives record by record -------------------------------


def person_view(archive: Archive, person_id: int | None) -> dict[str, Any] | None:
    """A person as an admin sees them with every sealed value opened (ids left out)."""
    if person_id is None:
        return None
    shown = archive.records.show("person", person_id, reveal=True)
    names = shown["names"]
    return {
        "protected": bool(shown["protected"]),
        "names": sorted(
            (n["name"], n["script"]) if isinstance(n, dict) else (str(n), "") for n in names
        ),
        "sex": shown.get("sex"),
        "birth": shown.get("birth_edtf"),
        "origin": shown.get("origin"),
        "status": shown.get("status"),
    }


def source_view(archive: Archive, source_id: int) -> dict[str, Any]:
    shown = archive.records.show("source", source_id, reveal=True)
    return {
        "ref": shown["ref"],
        "type": shown["source_type"],
        "date": shown["date_edtf"],
        "sharing": shown["sharing"],
        "informant": shown.get("informant"),
    }


def act_view(archive: Archive, act_id: int) -> dict[str, Any]:
    """An act and everything it refers to, as an admin sees it with sealed values opened."""
    shown = archive.records.show("act", act_id, reveal=True)
    event = archive.records.show("event", shown["event_id"]) if shown["event_id"] else None
    perpetrators = sql(
        archive,
        "SELECT organization_id, person_id, role FROM act_perpetrators WHERE act_id = :a",
        a=act_id,
    )
    orgs = archive.organizations
    return {
        "act_type": shown["act_type"],
        "date": shown["date_edtf"],
        "description": shown["description"],
        "sharing": shown["sharing"],
        "place": shown["place"],
        "facility": shown["facility"],
        "facility_type": shown["facility_type"],
        "event": {"ref": event["ref"], "title": event["title"]} if event else None,
        "sources": sorted(
            (source_view(archive, s) for s in shown["sources"]), key=lambda s: s["ref"]
        ),
        "victim": person_view(archive, shown["victim_id"]),
        "perpetrators": sorted(
            json.dumps(
                {
                    "organization": (entry.label if (entry := orgs.get(o)) else None),
                    "person": person_view(archive, p),
                    "role": r,
                },
                sort_keys=True,
                ensure_ascii=False,
            )
            for o, p, r in perpetrators
        ),
    }


def views(archive: Archive) -> dict[int, str]:
    """Act id -> the act's view as JSON."""
    return {
        act_id: json.dumps(act_view(archive, act_id), sort_keys=True, ensure_ascii=False)
        for act_id, _victim in acts_in_order(archive)
    }


def person_views(archive: Archive) -> dict[int, str]:
    """Person id -> the person's view as JSON, with how many acts they are in (each way)."""
    counts = {
        r[0]: (r[1], r[2])
        for r in sql(
            archive,
            "SELECT p.id, (SELECT count(*) FROM acts a WHERE a.victim_id = p.id), "
            "(SELECT count(*) FROM act_perpetrators x WHERE x.person_id = p.id) FROM persons p",
        )
    }
    return {
        pid: json.dumps(
            {**(person_view(archive, pid) or {}), "acts": counts[pid]},
            sort_keys=True,
            ensure_ascii=False,
        )
        for pid in sorted(counts)
    }


def differences(before: dict[int, str], after: dict[int, str], limit: int = 4) -> str:
    """The first records that differ, for an assertion message."""
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"  {key}:\n    before {before.get(key)}\n    after  {after.get(key)}")
    return f"{len(lines)} records differ:\n" + "\n".join(lines[:limit])


def first_change(lost: list[str], new: list[str]) -> str:
    """The fields that differ between the first lost act and the new act most like it."""
    if not lost or not new:
        return (lost or new or ["(none)"])[0]

    def same_act(view: dict[str, Any]) -> tuple[Any, ...]:
        return view["act_type"], view["date"], view["place"], repr(view["sources"])

    old = json.loads(lost[0])
    like = [v for v in map(json.loads, new) if same_act(v) == same_act(old)] or [
        json.loads(new[0])
    ]
    return "; ".join(
        f"{k}: {old[k]!r} became {like[0].get(k)!r}" for k in old if old[k] != like[0].get(k)
    )


# --- the data -------------------------------------------------------------------------------

#: YODOK (an informant, a confidential act with a named perpetrator) and acts whose named
#: perpetrators have each role
ACTS = [
    *YODOK,
    row(
        source_ref="S-003",
        source_type="testimony",
        source_date="2016",
        informant="Witness Beta",
        event_ref="E-003",
        event_title="Interrogation at Onsong",
        act_type="torture",
        act_date="2012-05",
        place="온성",
        victim_ref="V-003",
        victim_name="Choe Myong-hui",
        victim_name_hangul="최명희",
        victim_sex="female",
        victim_birth="1975",
        perpetrator_org="보위부",
        perpetrator_name="Ri Song-chol",
        perpetrator_role="direct",
        description="beaten with a stick during interrogation",
        sharing="confidential",
    ),
    row(
        source_ref="S-003",
        source_type="testimony",
        source_date="2016",
        informant="Witness Beta",
        event_ref="E-003",
        event_title="Interrogation at Onsong",
        act_type="arbitrary_detention",
        act_date="2012",
        place="온성",
        victim_ref="V-003",
        victim_name="Choe Myong-hui",
        perpetrator_name="Kang Ho",
        perpetrator_role="ordered",
        description="held for three months",
        sharing="internal",
    ),
    row(
        source_ref="S-004",
        source_type="ngo_report",
        source_date="2019",
        act_type="public_execution",
        act_date="2013",
        place="혜산",
        victim_name="Han Gwang-su",
        victim_sex="male",
        perpetrator_org="Ministry of Social Security",
        perpetrator_name="O Jin-u",
        perpetrator_role="superior",
        description="executed in the market square",
        sharing="public",
    ),
    row(
        source_ref="S-004",
        source_type="ngo_report",
        source_date="2019",
        act_type="torture",
        act_date="2013",
        place="혜산",
        victim_name="Han Gwang-su",
        perpetrator_name="Jo Myong",
        perpetrator_role="accomplice",
        description="beaten before the execution",
        sharing="internal",
    ),
]


def person_by_name(archive: Archive, name: str) -> int:
    found = sql(archive, "SELECT person_id FROM person_names WHERE name = :n", n=name)
    assert found, name
    return int(found[0][0])


def fill(archive: Archive, tmp_path: Path, demo: int = 0) -> list[int]:
    """Import :data:`ACTS` (after ``demo`` synthetic acts), then protect two victims and a
    named perpetrator (and the first two demo victims with a ref); returns who is protected."""
    if demo:
        populate(archive, demo, seed=7)
    archive.ingest.run(write_csv(tmp_path / "acts.csv", ACTS))
    protected = [
        person_by_name(archive, "Kim Yo-jong"),
        person_by_name(archive, "Choe Myong-hui"),
        person_by_name(archive, "Ri Song-chol"),
    ]
    if demo:
        refs = sql(archive, "SELECT id FROM persons WHERE ref LIKE 'victim:P%' ORDER BY id")
        protected += [int(r[0]) for r in refs[:2]]
    for person_id in protected:
        archive.protection.protect(person_id)
    return protected


# --- finding 1: a new row does not un-protect -----------------------------------------------


def _protect_then_import_again(archive: Archive, tmp_path: Path) -> int:
    """One act about V-2, who is then protected; a second testimony names V-2 again with new
    names. Returns V-2's person id."""
    first = row(source_ref="S-1", act_type="torture", act_date="2011", victim_ref="V-2",
                victim_name="Qxfirstname Pak", description="beaten", sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "first.csv", [first]))
    [(_act, victim)] = acts_in_order(archive)
    assert victim is not None
    archive.protection.protect(victim)
    second = row(source_ref="S-2", act_type="arbitrary_detention", act_date="2012",
                 victim_ref="V-2", victim_name=LATER_NAME, victim_name_hangul=LATER_HANGUL,
                 description="held", sharing="internal")
    archive.ingest.run(write_csv(tmp_path / "second.csv", [second]))
    return victim


def test_a_new_testimony_about_a_protected_victim_keeps_them_protected(
    archive: Archive, tmp_path: Path
) -> None:
    """After the second import the victim is still protected, the new names are sealed (no
    plaintext in person_names, for anyone holding the database key) and an admin can still
    open them: sealed at once under the victim's key, not dropped."""
    victim = _protect_then_import_again(archive, tmp_path)
    shown = archive.records.show("person", victim)
    assert shown["protected"] is True, "the import un-protected the victim"
    assert LATER_NAME not in json.dumps(shown, ensure_ascii=False, default=str)
    stored = stored_names(archive, victim)
    assert not [n for n in stored if not is_sealed(n)], f"names in the clear: {stored}"
    opened = archive.records.show("person", victim, reveal=True)["names"]
    assert {LATER_NAME, LATER_HANGUL} <= {n["name"] for n in opened if isinstance(n, dict)}


def test_no_role_without_the_seal_finds_a_protected_victim_by_a_later_name(
    archive: Archive, tmp_path: Path
) -> None:
    """Viewer, analyst, coordinator and reviewer search for the new names: no hit (today the
    viewer gets the person and both acts, the earlier protected one too)."""
    _protect_then_import_again(archive, tmp_path)
    found = {}
    for role in ("viewer", "analyst", "coordinator", "reviewer"):
        with opened_as(archive, role) as other:
            hits = other.searcher.search("Qxlatername") + other.searcher.search(LATER_HANGUL)
            hits += other.searcher.search("Qxfirstname")  # the name protected first: no hit
            if hits:
                found[role] = [(h.kind, h.id) for h in hits]
    assert not found, f"the protected victim is found by a later name: {found}"


# --- findings 1 and 2: an admin's export imported again ---------------------------------------


@pytest.mark.parametrize(
    "include_protected",
    [pytest.param(False, id="export"), pytest.param(True, id="export-include-protected")],
)
def test_reimporting_an_admin_export_changes_nothing(
    archive: Archive, tmp_path: Path, include_protected: bool
) -> None:
    """Export as admin and import the file again: every act and person is as before (the
    import may refuse the file instead), protected persons stay protected and no protected
    person gets a name in the clear."""
    protected = fill(archive, tmp_path)
    acts_before, persons_before = views(archive), person_views(archive)
    path = export(archive, tmp_path / "export.csv", include_protected)
    with contextlib.suppress(InvalidInput):  # refusing the file is safe too
        archive.ingest.run(path)
    clear = {p: [n for n in stored_names(archive, p) if not is_sealed(n)] for p in protected}
    assert not any(clear.values()), f"protected persons' names in the clear: {clear}"
    assert views(archive) == acts_before, differences(acts_before, views(archive))
    assert person_views(archive) == persons_before, differences(
        persons_before, person_views(archive)
    )
    stored = [r[0] for r in sql(archive, "SELECT description FROM acts")]
    stored += [r[0] for r in sql(archive, "SELECT name FROM person_names")]
    assert PROTECTED not in stored and REDACTED not in stored


# --- finding 2: export then import is lossless ----------------------------------------------


def test_an_admin_export_round_trips_into_a_fresh_archive(
    archive: Archive, tmp_path: Path
) -> None:
    """The demo data and :data:`ACTS` (every sharing level, informants, protected victims and
    a protected perpetrator, each perpetrator role), exported by an admin with the protected
    fields and imported into a new archive: the same acts and persons, record by record."""
    fill(archive, tmp_path, demo=60)
    path = export(archive, tmp_path / "full.csv", include_protected=True)
    with Archive.create(tmp_path / "copy", PASSPHRASE, settings=FAST) as copy:
        copy.ingest.run(path)
        original = Counter(views(archive).values())
        copied = Counter(views(copy).values())
        lost, new = list((original - copied).elements()), list((copied - original).elements())
        assert not lost and not new, (
            f"{len(lost)} acts lost or changed, {len(new)} new; "
            f"the first changed: {first_change(lost, new)}"
        )
        assert Counter(person_views(copy).values()) == Counter(person_views(archive).values())


@pytest.mark.parametrize("role", ROLES)
def test_no_export_imports_a_marker_as_data(
    sqlcipher_archive: Archive, tmp_path: Path, role: str
) -> None:
    """Each role's export imported into a fresh archive: no value there is a redaction or
    protection marker (the import refuses such rows or leaves the fields empty)."""
    fill(sqlcipher_archive, tmp_path)
    with opened_as(sqlcipher_archive, role) as exporter:
        path = export(exporter, tmp_path / f"{role}.csv", include_protected=False)
    with Archive.create(tmp_path / "copy", PASSPHRASE, settings=FAST) as copy:
        try:
            copy.ingest.run(path)
        except InvalidInput:
            return
        values = [r[0] for r in sql(copy, "SELECT name FROM person_names")]
        values += [r[0] for r in sql(copy, "SELECT description FROM acts")]
        values += [r[0] for r in sql(copy, "SELECT title FROM events")]
        values += [r[0] for r in sql(copy, "SELECT ref FROM persons")]
        markers = [v for v in values if v and (PROTECTED in v or REDACTED in v)]
        assert not markers, f"markers imported as data: {sorted(set(markers))}"

