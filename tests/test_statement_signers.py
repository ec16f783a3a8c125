"""Statements signed by organizations and persons, in one order (issue 15, publishing item 1).

A Markdown import with mixed signatories reads back in order, and the live public page and
the static site list them in that order in Korean and English; a person protected after
signing is never on a public page, the static site, the feed or the public API (a canary
name); a protected, unknown or ambiguous person is refused by name, and a bad front matter
entry names its file, key and value with the archive left as it was; the API, the statement
form and the command line carry each signatory's kind; the log commits both tables and
``verify`` passes. Data tests run on both stores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app as cli
from sillok.errors import InvalidInput
from sillok.model import (
    organizations,
    person_names,
    statement_person_signatories,
    statement_signatories,
    statements,
)
from sillok.records.statement_files import StatementFileError, import_files
from sillok.store import rows as store_rows
from sillok.web import WebSettings, create_app
from sillok.web.static_site import StaticSite
from tests.conftest import FAST, PASSPHRASE
from tests.test_public_site import assert_in_order
from tests.test_web_app import add_users, csrf_of, login, password

ORG_FIRST = "Open North Korea"
ORG_LAST = "Unification Media Group"
KIM = ("Kim Young-il", "김영일")
KIM_LABEL = "Kim Young-il (김영일)"
PARK = "Park Sun-hee"
CANARY = "Qzxsignercanary Lee"  # signs, then is protected: never public from then on
TITLE = "Joint statement: stop the inspection of human rights groups"
TITLE_KO = "공동 성명: 인권단체 검사를 중단하라"

EN = f"""---
title: "{TITLE}"
kind: statement
posted: 2020-08-26
language: en
signatories:
  - {ORG_FIRST}
  - person: {KIM[0]}
  - "person: P-CANARY"
  - {{organization: "{ORG_LAST}"}}
  - {{kind: person, name: P-PARK}}
---
We, the undersigned organizations and persons, ask the government to stop.
"""

KO = f"""---
title: "{TITLE_KO}"
kind: statement
posted: 2020-08-26
language: ko
translation_of: en.md
signatories:
  - {ORG_FIRST}
  - "개인: {KIM[1]}"
  - person: P-CANARY
  - 단체: {ORG_LAST}
  - person: {PARK}
---
아래 단체와 개인은 정부에 중단을 요구합니다.
"""

ORDER = [ORG_FIRST, KIM_LABEL, ORG_LAST, PARK]  # as the public pages show it
KINDS = ["organization", "person", "organization", "person"]


def add_person(archive: Archive, ref: str, names: list[tuple[str, str]]) -> int:
    """A person of the archive with these (name, script) names, not protected."""
    with archive.store.transaction() as conn:
        (pid,) = store_rows.insert_records(
            conn,
            archive.store.dialect,
            "person",
            [{"ref": ref, "status": "unknown", "protected": False}],
            "owner",
        )
        rows = [
            {"person_id": pid, "name": name, "script": script, "kind": "birth"}
            for name, script in names
        ]
        store_rows.insert_rows(conn, archive.store.dialect, person_names, rows)
    return int(pid)


def add_signers(archive: Archive) -> dict[str, int]:
    """Kim (two scripts), Park and the canary person."""
    return {
        "kim": add_person(archive, "P-KIM", [(KIM[0], "Latn"), (KIM[1], "Hang")]),
        "park": add_person(archive, "P-PARK", [(PARK, "Latn")]),
        "canary": add_person(archive, "P-CANARY", [(CANARY, "Latn")]),
    }


def _counts(archive: Archive) -> tuple[int, ...]:
    with archive.store.reading() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar() or 0
            for t in (statements, organizations, statement_signatories,
                      statement_person_signatories)
        )  # fmt: skip


def _signatories(item: Any) -> list[tuple[str, str]]:
    return [(s.kind, s.name) for s in item.signatories]


@dataclass
class Published:
    """An archive with the mixed-signatory statement in English and Korean, published, and
    its canary signer protected since."""

    folder: Path
    ids: dict[str, int]


@pytest.fixture
def published(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Published:
    database = request.getfixturevalue("pg_url") if store_kind == "postgresql" else None
    folder = tmp_path / "archive"
    with Archive.create(folder, PASSPHRASE, database=database, settings=FAST) as archive:
        people = add_signers(archive)
        files = tmp_path / "files"
        files.mkdir()
        (files / "en.md").write_text(EN, encoding="utf-8")
        (files / "ko.md").write_text(KO, encoding="utf-8")
        en, ko = import_files(archive.statements, [files / "en.md", files / "ko.md"])
        # read back in the order of the file, each with its kind
        assert [s.kind for s in en.signatories] == [
            "organization", "person", "person", "organization", "person"
        ]  # fmt: skip
        assert [s.name for s in en.signatories] == [ORG_FIRST, KIM_LABEL, CANARY, ORG_LAST, PARK]
        assert _signatories(ko) == _signatories(en)
        for item in (en, ko):
            archive.statements.publish(item.id)
        archive.protection.protect(people["canary"])
        after = archive.statements.get(en.id)
        assert ("person", "[protected]") in _signatories(after)  # staff: the marker, no name
        assert [s.name for s in after.public_signatories] == ORDER
        assert archive.verification.run().ok  # both tables are in the log
        add_users(archive)
    return Published(folder, {"en": en.id, "ko": ko.id, **people})


@pytest.fixture
def app(published: Published) -> Iterator[Any]:
    app = create_app(published.folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        yield app
    finally:
        app.state.web.close()


def _visitor(app: Any, lang: str) -> TestClient:
    client = TestClient(app)
    client.cookies.set("sillok_lang", lang)
    return client


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_mixed_signatories_in_order_on_the_live_page_without_the_protected(
    published: Published, app: Any, lang: str
) -> None:
    visitor = _visitor(app, lang)
    page = visitor.get(f"/news/{published.ids[lang]}")
    assert page.status_code == 200
    heading = "Signatories" if lang == "en" else "서명 단체·개인"
    assert_in_order(page.text, [heading, *ORDER, "</ol>"])
    # a person is marked as one; an organization's item is as it always was
    assert_in_order(page.text, [f"<li>{ORG_FIRST}</li>", f'<li data-kind="person">{KIM_LABEL}'])
    assert page.text.count('data-kind="person"') == 2
    for public in (
        page.text,
        visitor.get(f"/news?language={lang}").text,
        visitor.get("/news/feed.xml").text,
        visitor.get("/api/statements").text,
        visitor.get(f"/api/statements/{published.ids[lang]}").text,
    ):
        assert CANARY not in public and "[protected]" not in public
    listed = visitor.get(f"/api/statements/{published.ids[lang]}").json()["signatories"]
    assert [(s["kind"], s["name"]) for s in listed] == list(zip(KINDS, ORDER, strict=True))


def test_the_static_site_lists_both_kinds_in_order_and_never_the_protected(
    published: Published, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    with Archive.open(published.folder, PASSPHRASE, settings=FAST) as archive:
        StaticSite(archive).write(out)
    for lang in ("en", "ko"):
        html = (out / lang / "news" / f"{published.ids[lang]}.html").read_text(encoding="utf-8")
        heading = "Signatories" if lang == "en" else "서명 단체·개인"
        assert_in_order(html, [heading, *ORDER, "</ol>"])
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) > 5
    for path in written:  # the canary grep: no page, list, feed or file names them
        data = path.read_bytes()
        assert CANARY.encode() not in data, path
        assert b"[protected]" not in data, path


def test_a_protected_unknown_or_ambiguous_person_is_refused_by_name(archive: Archive) -> None:
    people = add_signers(archive)
    add_person(archive, "P-PARK2", [(PARK, "Latn")])  # a second person of the same name
    archive.protection.protect(people["canary"])
    with archive.store.reading() as conn:
        canary = store_rows.get(conn, "person", people["canary"])
    assert canary is not None
    canary_ref = canary.ref
    item = archive.statements.write("Draft", "Text.", "en")
    archive.statements.set_signatories(item.id, [ORG_FIRST, f"person: {KIM[0]}"])
    before = _counts(archive), _signatories(archive.statements.get(item.id))
    for given, why in (
        (f"person: {canary_ref}", "protected person"),
        ({"person": CANARY}, "names no person"),  # the name is sealed: no one finds it
        ("person: Nobody Known", "names no person"),
        (f"person: {PARK}", "more than one person (P-PARK, P-PARK2)"),
        ({"kind": "robot", "name": "R2"}, "kind that is not one of"),
    ):
        with pytest.raises(InvalidInput, match="signatories") as refused:
            archive.statements.set_signatories(item.id, ["Never Seen Group", given])
        assert why in str(refused.value)
        assert (_counts(archive), _signatories(archive.statements.get(item.id))) == before
    # nor is a protected person taken as the Korean prefix, by ref
    with pytest.raises(InvalidInput, match="protected"):
        archive.statements.check(signatories=[f"개인: {canary_ref}"])
    assert archive.verification.run().ok


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("- person: Nobody Known", "person: Nobody Known"),
        ("- {person: Kim, organization: Open North Korea}", "'person': 'Kim'"),
        ("- {kind: robot, name: R2}", "'kind': 'robot'"),
        ("- 42", "42"),
        ("- person:", "'person': None"),
    ],
)
def test_a_bad_front_matter_entry_names_file_key_and_value_and_writes_nothing(
    archive: Archive, tmp_path: Path, entry: str, shown: str
) -> None:
    add_signers(archive)
    good = tmp_path / "good.md"
    good.write_text(EN, encoding="utf-8")
    bad = tmp_path / "bad.md"
    bad.write_text(
        f"---\ntitle: Bad\nlanguage: en\nsignatories:\n  - A New Group\n  {entry}\n---\nText.\n",
        encoding="utf-8",
    )
    before = _counts(archive)
    with pytest.raises(StatementFileError) as refused:
        import_files(archive.statements, [good, bad])
    message = str(refused.value)
    assert str(bad) in message and "signatories:" in message and shown in message, message
    assert _counts(archive) == before  # not the good file, not "A New Group"


def test_round_trip_through_the_api_the_form_and_the_command_line(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    archive = sqlcipher_archive
    folder = archive.folder
    add_signers(archive)
    add_users(archive)
    archive.close()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        client = login(app, None)
        token = client.post(
            "/api/tokens", json={"username": "coordinator", "passphrase": password("coordinator")}
        ).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        sent = [
            {"organization": ORG_FIRST},
            {"person": KIM[1]},
            ORG_LAST,
            {"kind": "person", "name": "P-PARK"},
        ]
        created = client.post(
            "/api/statements",
            json={"title": "API", "body": "x", "language": "en", "signatories": sent},
        )
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        got = client.get(f"/api/statements/{sid}").json()["signatories"]
        assert [(s["kind"], s["name"]) for s in got] == list(zip(KINDS, ORDER, strict=True))
        # what the API gave back, reversed, is taken back as it is
        back = [{"kind": s["kind"], "name": s["name"]} for s in reversed(got)]
        changed = client.patch(f"/api/statements/{sid}", json={"signatories": back})
        assert [s["name"] for s in changed.json()["signatories"]] == ORDER[::-1]
        refused = client.patch(
            f"/api/statements/{sid}", json={"title": "Not saved", "signatories": ["person: X Y"]}
        )
        assert refused.status_code == 422 and "person: X Y" in refused.text
        again = client.get(f"/api/statements/{sid}").json()
        assert again["title"] == "API" and [s["name"] for s in again["signatories"]] == ORDER[::-1]

        # the form: one a line, a person after "person:" (or 개인:), kept on a refusal
        staff = login(app, "coordinator")
        form = {
            "csrf_token": csrf_of(staff),
            "title": "Form",
            "body": "x",
            "language": "ko",
            "kind": "statement",
            "signatories": f"{ORG_FIRST}\n개인: {KIM[1]}\nperson: Nobody Known\n",
        }
        page = staff.post("/statements/new", data=form)
        assert page.status_code == 422 and "person: Nobody Known" in page.text
        assert "기록에 없는 사람입니다" in page.text  # the refusal in the page's language
        assert 'id="signatories-error"' in page.text and "개인:" in page.text
        form["signatories"] = f"{ORG_FIRST}\n개인: {KIM[1]}\n\n{ORG_LAST}\nperson: P-PARK\n"
        done = staff.post("/statements/new", data=form, follow_redirects=False)
        assert done.status_code == 303
        new_id = int(done.headers["location"].rsplit("/", 1)[1])
        shown = staff.get(f"/statements/{new_id}").text
        assert_in_order(shown, ['data-kind="organization"', ORG_FIRST, 'data-kind="person"',
                                KIM_LABEL, ORG_LAST, PARK])  # fmt: skip
        edit = staff.get(f"/statements/{new_id}/edit").text
        assert f"{ORG_FIRST}\nperson: {KIM_LABEL}\n{ORG_LAST}\nperson: {PARK}" in edit
        # the form sent back unchanged saves the same signatories
        form["signatories"] = f"{ORG_FIRST}\nperson: {KIM_LABEL}\n{ORG_LAST}\nperson: {PARK}"
        form.pop("language")
        saved = staff.post(f"/statements/{new_id}/edit", data=form, follow_redirects=False)
        assert saved.status_code == 303
        assert (
            app.state.web.archive.statements.get(new_id).signatories
            == (app.state.web.archive.statements.get(sid).signatories[::-1])
        )
    finally:
        app.state.web.close()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    listed = CliRunner().invoke(cli, ["statements", "list", str(folder), "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    items = {i["id"]: i for i in json.loads(listed.output)["items"]}
    assert [s["kind"] for s in items[new_id]["signatories"]] == KINDS
    table = CliRunner().invoke(cli, ["statements", "list", str(folder)], env=env)
    assert table.exit_code == 0, table.output
    # the table's width is the console's, fixed when it was first made: cells may wrap
    assert "person:" in table.output
    verified = CliRunner().invoke(cli, ["verify", str(folder)], env=env)
    assert verified.exit_code == 0, verified.output


def test_an_archive_from_before_0011_keeps_its_signatories_and_takes_persons(
    archive: Archive,
) -> None:
    from alembic import command

    from sillok.store import _alembic_config

    people = add_signers(archive)
    old = archive.statements.write("Before", "Text.", "en")
    archive.statements.set_signatories(old.id, ["Zeta Group", "Alpha Group"])
    config = _alembic_config()
    with archive.store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")  # the schema as it was: no persons' table
    assert archive.store.schema_revision() == "0010"
    folder = archive.folder
    archive.close()
    with Archive.open(folder, PASSPHRASE, settings=FAST) as upgraded:  # migrates to head
        kept = upgraded.statements.get(old.id)
        assert _signatories(kept) == [
            ("organization", "Zeta Group"),
            ("organization", "Alpha Group"),
        ]
        changed = upgraded.statements.set_signatories(
            old.id, ["Zeta Group", "person: P-KIM", "Alpha Group"]
        )
        assert [s.kind for s in changed.signatories] == ["organization", "person", "organization"]
        assert changed.signatories[1].id == people["kim"]
        assert upgraded.verification.run().ok


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("organization", "Open North Korea"),
        ("organization", "NKnet: Network for Democratization"),  # a colon, not a kind
        ("organization", "Person: an organization's odd name"),
        ("organization", "개인: 단체 이름"),
        ("person", KIM_LABEL),
        ("person", "organization: a person's odd name"),
    ],
)
def test_a_signatory_line_reads_back_as_the_same_signatory(kind: str, name: str) -> None:
    from sillok.records.signatories import SignatoryName, line_of, signatory_name

    assert signatory_name(line_of(kind, name)) == SignatoryName(kind, name)
