"""Statements as the field writes them: Markdown files with front matter imported all or none,
the posting member and both dates, signatories in order, the body rendered without raw HTML,
and the command line with the web's rights (both stores where an archive is used)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app as cli
from sillok.errors import InvalidInput
from sillok.records.markdown import render_body
from sillok.records.statement_files import StatementFileError, import_files
from sillok.records.statements import WriteRightNeeded
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE

MEMBERS = [
    "NKnet",
    "Open North Korea",
    "Unification Media Group",
    "Unification Academy",
    "Unification Strategy Institute",
]
SIGNATORIES = [
    "Network for Democratization and Human Rights in North Korea",
    "Open North Korea",
    "Unification Media Group",
    "Unification Academy",
    "Unification Strategy Institute",
]
TITLE = "NKnet-Cease the repression of North Korean human rights groups immediately."

# the structure of the page in issue 15: a coalition's news on a member's statement
NEWS = f"""---
title: "{TITLE}"
kind: news
member: NKnet
posted: 2020-08-26
signed: 2020-07-21
language: en
signatories:
{chr(10).join("  - " + s for s in SIGNATORIES)}
---
The Ministry of Unification has begun inspecting the registered groups.

We demand that the government:

1. stop the inspection of North Korean human rights groups;
2. withdraw the cancellation of their registration;
3. guarantee the freedom of association;
4. listen to the victims.

> Human rights do not stop at the border.

Read [the full text](https://example.org/nknet/statement).
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _count(archive: Archive) -> tuple[int, int]:
    """How many statements and organizations the archive has (drafts included)."""
    with archive.store.reading() as conn:
        from sqlalchemy import func, select

        from sillok.model import organizations, statements

        return (
            conn.execute(select(func.count()).select_from(statements)).scalar() or 0,
            conn.execute(select(func.count()).select_from(organizations)).scalar() or 0,
        )


def test_a_news_item_on_a_member_imports_with_both_dates_member_and_ordered_signatories(
    archive: Archive, tmp_path: Path
) -> None:
    archive.statements.set_members(MEMBERS)
    (item,) = import_files(archive.statements, [_write(tmp_path, "nknet.md", NEWS)])
    assert (item.kind, item.title, item.language) == ("news", TITLE, "en")
    assert (item.posted, item.signed) == ("2020-08-26", "2020-07-21")
    assert item.member is not None and item.member.name == "NKnet"
    assert [s.name for s in item.signatories] == SIGNATORIES  # in order, not by id
    assert item.published is False
    assert "<ol>" in item.body_html and "<blockquote>" in item.body_html
    assert archive.statements.get(item.id) == item
    assert archive.verification.run().ok  # every write went through the log


def test_uncertain_dates_and_a_translation_in_the_same_import(
    archive: Archive, tmp_path: Path
) -> None:
    archive.statements.set_members(MEMBERS)
    original = _write(tmp_path, "a.md", NEWS.replace("posted: 2020-08-26", "posted: 2020-08?"))
    korean = _write(
        tmp_path,
        "b.md",
        "---\ntitle: 북한인권단체 탄압을 즉각 중단하라\nlanguage: ko\nkind: news\n"
        "member: NKnet\nposted: 2020년 8월\ntranslation_of: a.md\n---\n본문.\n",
    )
    ko, en = import_files(archive.statements, [korean, original])
    assert en.posted == "2020-08?" and ko.posted == "2020-08"
    assert ko.translation_of == en.id and en.translation_of is None


@pytest.mark.parametrize(
    ("change", "key", "value"),
    [
        (("kind: news", "kind: memo"), "kind", "memo"),
        (("posted: 2020-08-26", "posted: 2020-13-45"), "posted", "2020-13-45"),
        (("signed: 2020-07-21", "signed: the thirteenth month"), "signed", "thirteenth"),
        (("member: NKnet", "member: Nobody Alliance"), "member", "Nobody Alliance"),
        ((f'title: "{TITLE}"\n', ""), "title", "needs a title"),
        (("language: en", "langauge: en"), "langauge", "not a key"),
        (("signatories:", "signatories:\n  - 42"), "signatories", "42"),
    ],
)
def test_bad_front_matter_names_file_key_and_value_and_writes_nothing(
    archive: Archive, tmp_path: Path, change: tuple[str, str], key: str, value: str
) -> None:
    archive.statements.set_members(MEMBERS)
    good = _write(tmp_path, "good.md", NEWS)
    bad = _write(tmp_path, "bad.md", NEWS.replace(*change))
    before = _count(archive)
    with pytest.raises(InvalidInput) as caught:
        import_files(archive.statements, [good, bad])
    message = str(caught.value)
    assert str(bad) in message and f"{key}:" in message and value in message, message
    assert _count(archive) == before  # the good file was not written either, nor signatories


def test_a_file_without_front_matter_or_with_bad_yaml_is_named(
    archive: Archive, tmp_path: Path
) -> None:
    plain = _write(tmp_path, "plain.md", "Just text.\n")
    with pytest.raises(StatementFileError, match=re.escape(str(plain))):
        import_files(archive.statements, [plain])
    broken = _write(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nx\n")
    with pytest.raises(StatementFileError, match="broken.md: front matter"):
        import_files(archive.statements, [broken])
    tagged = _write(tmp_path, "tag.md", "---\ntitle: !!python/object/apply:os.getcwd []\n---\nx")
    with pytest.raises(StatementFileError, match="tag.md"):
        import_files(archive.statements, [tagged])  # safe_load: no objects
    assert _count(archive)[0] == 0


def test_the_body_is_rendered_without_raw_html_or_script_links() -> None:
    html = render_body(
        "Hi <script>alert(1)</script>\n\n"
        "- one\n- two\n\n> quoted\n\n"
        "[bad](javascript:alert(1)) [tab](java\tscript:alert(2)) [data](data:text/html,x) "
        "[good](https://example.org) [mail](mailto:a@example.org) [here](/news/1)\n\n"
        '<a href="javascript:alert(3)">raw</a> ![img](https://tracker.example/p.png)'
    )
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<ul>" in html and "<blockquote>" in html
    assert 'href="javascript' not in html.lower() and 'href="data' not in html
    assert "<img" not in html and '<a href="javascript' not in html
    assert '<a href="https://example.org">good</a>' in html
    assert '<a href="mailto:a@example.org">' in html and '<a href="/news/1">' in html


def test_a_documenter_imports_drafts_but_may_not_publish_or_set_members(
    sqlcipher_archive: Archive, tmp_path: Path
) -> None:
    from tests.security.conftest import add_user, open_as

    members = sqlcipher_archive.statements.set_members(MEMBERS)
    (audited,) = sqlcipher_archive.audit.events(action="coalition_members")
    assert audited["detail"]["members"] == [m.id for m in members]
    passphrases = {
        "doc": add_user(sqlcipher_archive, "doc", "documenter"),
        "viewer": add_user(sqlcipher_archive, "viewer", "viewer"),
    }
    folder = sqlcipher_archive.folder
    sqlcipher_archive.close()
    news = _write(tmp_path, "nknet.md", NEWS)
    with open_as(folder, "doc", passphrases["doc"]) as documenter:
        (item,) = import_files(documenter.statements, [news])
        with pytest.raises(InvalidInput, match="statement.publish"):
            documenter.statements.publish(item.id)
        with pytest.raises(InvalidInput, match="statement.publish"):
            documenter.statements.set_members(["Someone Else"])
        assert documenter.statements.get(item.id).published is False
    with open_as(folder, "viewer", passphrases["viewer"]) as viewer:
        with pytest.raises(WriteRightNeeded):
            import_files(viewer.statements, [news])
        with pytest.raises(WriteRightNeeded):
            viewer.statements.page(published_only=False)
        assert viewer.statements.page().total == 0


def test_import_list_publish_show_and_withdraw_from_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    Archive.create(folder, PASSPHRASE, settings=FAST).close()
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    news = _write(tmp_path, "nknet.md", NEWS)

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("statements", "members", str(folder), *MEMBERS)
    (imported,) = json.loads(run("statements", "import", str(folder), str(news), "--json"))
    sid = imported["id"]
    listed = json.loads(run("statements", "list", str(folder), "--json"))
    assert [i["title"] for i in listed["items"]] == [TITLE] and not listed["items"][0]["published"]
    theirs = json.loads(run("statements", "list", str(folder), "--member", "NKnet", "--json"))
    others = json.loads(run("statements", "list", str(folder), "--member", MEMBERS[1], "--json"))
    assert (theirs["total"], others["total"]) == (1, 0)

    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        visitor = TestClient(app)
        assert visitor.get(f"/news/{sid}").status_code == 404  # a draft is not public
        run("statements", "publish", str(folder), str(sid))
        page = visitor.get(f"/news/{sid}")
        assert page.status_code == 200
        html = page.text[page.text.index("<article") :]
        parts = [
            "2020-08-26",
            '<span>NKnet</span>',
            TITLE,
            "<li>stop the inspection",
            "<blockquote>",
            "2020-07-21",
            *SIGNATORIES,
        ]
        at = [html.find(p.replace("'", "&#39;")) for p in parts]
        assert all(i >= 0 for i in at), dict(zip(parts, at, strict=True))
        assert at == sorted(at)  # posted, member, title, body, signed, signatories in order
        assert TITLE in visitor.get("/news?language=en").text
        run("statements", "withdraw", str(folder), str(sid))
        assert visitor.get(f"/news/{sid}").status_code == 404
        assert TITLE not in visitor.get("/news?language=en").text
    finally:
        app.state.web.close()

    bad = _write(tmp_path, "bad.md", NEWS.replace("kind: news", "kind: memo"))
    result = runner.invoke(cli, ["statements", "import", str(folder), str(news), str(bad)], env=env)
    assert result.exit_code == 2
    assert "bad.md" in result.output and "kind" in result.output and "memo" in result.output
    listed = json.loads(run("statements", "list", str(folder), "--json"))
    assert listed["total"] == 1  # neither file of the refused import was written


def test_an_archive_from_before_0009_keeps_its_statements_and_takes_members(
    archive: Archive, tmp_path: Path
) -> None:
    from alembic import command

    from sillok.store import _alembic_config

    old = archive.statements.write("Before", "Text.", "en", "news", "2019-05")
    archive.statements.set_signatories(old.id, ["Zeta Group", "Alpha Group"])
    config = _alembic_config()
    with archive.store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")  # the schema as it was
    assert archive.store.schema_revision() == "0007"
    folder, database = archive.folder, archive.store.engine.url
    archive.close()
    url = None if database.drivername.startswith("sqlite") else database
    with Archive.open(folder, PASSPHRASE, settings=FAST) as upgraded:  # migrates to head
        assert url is None or upgraded.store.engine.url == url
        kept = upgraded.statements.get(old.id)
        assert (kept.title, kept.posted) == ("Before", "2019-05")
        assert kept.signed is None and kept.member is None
        assert sorted(s.name for s in kept.signatories) == ["Alpha Group", "Zeta Group"]
        upgraded.statements.set_members(["Zeta Group", "국가보위성"])
        changed = upgraded.statements.edit(old.id, member="Zeta Group", signed="2019-04-30")
        assert changed.member is not None and changed.member.name == "Zeta Group"
        assert changed.signed == "2019-04-30"
        both = upgraded.statements.write("Both", "b", "en", member="국가보위성")
        assert both.member is not None
        assert both.member.name == "Ministry of State Security (국가보위성)"  # a vocabulary entry
        upgraded.statements.edit(both.id, member="MSS")  # an alias finds it too
        # a member with a Korean and an English name is shown (and given back) as its label
        korean = upgraded.statements.translate(both.id, "ko", "둘", "본문")
        assert korean.member == upgraded.statements.get(both.id).member


def test_the_staff_form_writes_member_and_signed_date_and_refuses_a_non_member(
    tmp_path: Path,
) -> None:
    from tests.test_web_app import add_users, csrf_of, login

    folder = tmp_path / "archive"
    with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
        archive.statements.set_members(MEMBERS)
        add_users(archive)
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        client = login(app, "coordinator")
        form = {
            "csrf_token": csrf_of(client, "/statements/new"),
            "title": TITLE,
            "body": "1. stop\n2. withdraw",
            "language": "en",
            "kind": "news",
            "date": "2020-08-26",
            "signed": "2020-07-21",
            "member": "Nobody Alliance",
            "signatories": "\n".join(SIGNATORIES),
        }
        refused = client.post("/statements/new", data=form, follow_redirects=False)
        assert refused.status_code == 422 and "Nobody Alliance" in refused.text
        written = client.post(
            "/statements/new", data={**form, "member": "NKnet"}, follow_redirects=False
        )
        assert written.status_code == 303, written.text
    finally:
        app.state.web.close()
    with Archive.open(folder, PASSPHRASE, settings=FAST) as archive:
        (item,) = archive.statements.page(published_only=False).items
        assert item.member is not None and item.member.name == "NKnet"
        assert (item.posted, item.signed) == ("2020-08-26", "2020-07-21")
        assert [s.name for s in item.signatories] == SIGNATORIES
