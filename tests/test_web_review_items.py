"""The web review's items (issue 14, docs/web.md "Review items") that the earlier work left:
a user's role changed and a removed user brought back (item 9), the history's old values next
to the new ones (11), the staff statements page (15), grammar and Korean wording (16), no
framework text on bad addresses (17), the link queue's tabs, size and headings (18), the
dashboard's numbers and labels (19), the statement form's help (20), the import page's help,
template, sample and problems file (21), and the users table's headings (22).

Each test fails on the code before the fix (commit 5257796)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sillok.cli import app as cli
from sillok.records.flatacts import COLUMNS
from tests.conftest import PASSPHRASE
from tests.datasets import YODOK, row
from tests.test_web_app import Site, csrf_of, login, password, site  # noqa: F401  (fixture)
from tests.test_web_links import build_linked_site

EN = {"sillok_lang": "en"}
KO = {"sillok_lang": "ko"}
FRAMEWORK = ("Input should", "path.kind", "greater than or equal")
NEW = "a changed role's passphrase 7"


def _english(role: str, site: Site) -> TestClient:  # noqa: F811
    client = login(site.app, role)
    client.cookies.set("sillok_lang", "en")
    return client


def _add(admin: TestClient, name: str, role: str) -> None:
    answer = admin.post(
        "/users",
        data={
            "csrf_token": csrf_of(admin, "/users"),
            "name": name,
            "role": role,
            "passphrase": NEW,
            "repeat": NEW,
        },
    )
    assert answer.status_code == 200 and f"User {name} added." in answer.text, answer.text


def _token(site: Site, name: str, passphrase: str) -> int:  # noqa: F811
    return (
        TestClient(site.app)
        .post("/api/tokens", json={"username": name, "passphrase": passphrase})
        .status_code
    )


# -- item 8: a misspelt act type gets the nearest one; the summary takes the focus ----------


@pytest.mark.parametrize(
    ("cookies", "said"),
    [
        (EN, "Did you mean “Arbitrary detention”?"),
        (KO, "“자의적 구금” 말인가요?"),
    ],
)
def test_a_misspelt_act_type_is_answered_with_the_nearest(
    site: Site,  # noqa: F811
    cookies: dict[str, str],
    said: str,
) -> None:
    client = login(site.app, "documenter")
    answer = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "event-0-event_title": "bad",
            "act-0-0-act_type": "arbitary detention",
        },
        cookies=cookies,
    )
    assert answer.status_code == 422 and said in answer.text, answer.text
    assert re.search(r'id="form-errors" tabindex="-1" autofocus', answer.text)
    statement = client.post(
        "/statements/new",
        data={
            "csrf_token": csrf_of(client),
            "title": "",
            "body": "x",
            "language": "en",
            "kind": "statement",
        },
        cookies=cookies,
    )
    assert re.search(r'id="form-errors" tabindex="-1" autofocus', statement.text)


# -- item 9: a role changed, a removed user brought back ------------------------------------


def test_an_administrator_changes_a_role_on_the_page(site: Site) -> None:  # noqa: F811
    admin = _english("admin", site)
    _add(admin, "rolechange", "viewer")
    before = login(site.app, None)
    assert _token(site, "rolechange", NEW) == 201
    page = admin.get("/users").text
    assert 'action="/users/rolechange/role"' in page and "Change role" in page
    other = "another passphrase for them 8"
    answer = admin.post(
        "/users/rolechange/role",
        data={
            "csrf_token": csrf_of(admin, "/users"),
            "role": "documenter",
            "passphrase": other,
            "repeat": other,
        },
    )
    assert answer.status_code == 200 and "rolechange now has the role Documenter." in answer.text
    users = {u["name"]: u for u in site.app.state.web.archive.users.list()}
    assert users["rolechange"]["role"] == "documenter" and users["rolechange"]["active"]
    assert _token(site, "rolechange", NEW) == 401  # the old copy is gone
    me = (
        TestClient(site.app)
        .post("/api/tokens", json={"username": "rolechange", "passphrase": other})
        .json()
    )
    assert me["role"] == "documenter"
    del before
    report = site.app.state.web.archive.verification.run()
    assert report.ok, report.first_problem


def test_a_role_change_is_refused_with_reasons_and_changes_nothing(site: Site) -> None:  # noqa: F811
    admin = _english("admin", site)
    _add(admin, "samerole", "analyst")
    token = csrf_of(admin, "/users")
    for data, said in (
        ({"role": "analyst", "passphrase": NEW, "repeat": NEW}, "already has the analyst role"),
        ({"role": "viewer", "passphrase": NEW, "repeat": NEW + "x"}, "The two passphrases differ."),
        ({"role": "emperor", "passphrase": NEW, "repeat": NEW}, "is not one of"),
    ):
        answer = admin.post("/users/samerole/role", data={"csrf_token": token, **data})
        assert answer.status_code == 422 and said in answer.text, answer.text
    own = admin.post(
        "/users/admin/role",
        data={"csrf_token": token, "role": "viewer", "passphrase": NEW, "repeat": NEW},
    )
    assert own.status_code == 422 and "You cannot change your own role." in own.text
    assert {u["name"]: u["role"] for u in site.app.state.web.archive.users.list()}[
        "samerole"
    ] == "analyst"
    documenter = _english("documenter", site)
    refused = documenter.post(
        "/users/samerole/role",
        data={
            "csrf_token": csrf_of(documenter),
            "role": "viewer",
            "passphrase": NEW,
            "repeat": NEW,
        },
    )
    assert refused.status_code == 403


def test_the_command_line_changes_a_role_by_the_same_library_call(site: Site) -> None:  # noqa: F811
    _english("admin", site)  # the site is open (a server's archive on the folder)
    admin = _english("admin", site)
    _add(admin, "clirole", "viewer")
    result = CliRunner().invoke(
        cli,
        ["user", "role", str(site.folder), "clirole", "--role", "reviewer"],
        env={"SILLOK_PASSPHRASE": PASSPHRASE, "SILLOK_NEW_PASSPHRASE": NEW + " cli"},
    )
    assert result.exit_code == 0, result.output
    assert "clirole now has the reviewer role" in result.output
    assert {u["name"]: u["role"] for u in site.app.state.web.archive.users.list()}[
        "clirole"
    ] == "reviewer"


def test_a_removed_user_is_brought_back_from_their_row(site: Site) -> None:  # noqa: F811
    admin = _english("admin", site)
    _add(admin, "comeback", "reviewer")
    admin.post(
        "/users/comeback/remove", data={"csrf_token": csrf_of(admin, "/users"), "confirmed": "yes"}
    )
    page = admin.get("/users").text
    assert 'href="/users?restore=comeback#add"' in page
    form = admin.get("/users?restore=comeback").text
    assert 'id="name" name="name" value="comeback"' in form
    assert re.search(r'<option value="reviewer" selected>', form)
    _add(admin, "comeback", "reviewer")
    assert _token(site, "comeback", NEW) == 201


# -- item 11: the history shows what a field was ---------------------------------------------


def test_the_history_shows_the_old_value_next_to_the_new(site: Site) -> None:  # noqa: F811
    client = _english("documenter", site)
    rid = site.ids["event_public"]
    old_title = site.app.state.web.archive.records.show("event", rid)["title"]
    form = client.get(f"/records/event/{rid}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form)[1]  # type: ignore[index]
    fields = dict(re.findall(r'<input id="(\w+)" name="\w+" value="([^"]*)"', form))
    answer = client.post(
        f"/records/event/{rid}/edit",
        data={
            **fields,
            "title": "A title changed for the history",
            "version": version,
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    history = client.get(f"/records/event/{rid}/history").text
    changed = re.search(r'<dd class="changed">(.*?)</dd>', history, re.S)
    assert changed, history
    assert f"<del>{old_title}</del>" in changed[1]
    assert "<ins>A title changed for the history</ins>" in changed[1]


# -- item 15: the staff page of statements ----------------------------------------------------


def test_the_staff_statements_page_is_not_titled_like_the_public_one(site: Site) -> None:  # noqa: F811
    client = _english("documenter", site)
    staff = re.search(r"<h1>(.*?)</h1>", client.get("/statements").text)[1]  # type: ignore[index]
    public = re.search(r"<h1>(.*?)</h1>", client.get("/news").text)[1]  # type: ignore[index]
    assert staff == "Write statements" and staff != public


# -- item 16: grammar and Korean wording ------------------------------------------------------


def _upload(client: TestClient, cookies: dict[str, str]) -> str:
    header = ",".join(YODOK[0])
    good = [row(source_ref=f"GR-{n}", act_type="torture", act_date="2001") for n in range(3)]
    bad = row(source_ref="GR-X", act_type="torture", act_date="2001", victim_sex="shemale")
    lines = [header, *(",".join(r.values()) for r in [*good, bad])]
    return client.post(
        "/import",
        data={"csrf_token": csrf_of(client)},
        files={"file": ("acts.csv", ("\n".join(lines) + "\n").encode(), "text/csv")},
        cookies=cookies,
    ).text


def test_counts_read_right_whatever_the_number(site: Site) -> None:  # noqa: F811
    client = _english("documenter", site)
    report = _upload(client, EN)
    assert "are not" not in report and "Import 1 rows" not in report
    assert "Valid rows: 3 of 4. Invalid rows: 1." in report
    assert "Import the valid rows only (3)" in report


def test_korean_import_and_links_wording(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    report = _upload(client, KO)
    assert "::" not in re.sub(r"<[^>]+>", "", report)
    assert "평면 행위" not in report and "평면 행위" not in client.get("/import", cookies=KO).text
    from sillok.web.i18n import translator

    assert translator("ko")("and") == "및"  # "A 및 B", never "A 와(과) B"
    assert translator("en")("media_report") == "Media report"


# -- item 17: no framework text on a page -----------------------------------------------------


@pytest.mark.parametrize("cookies", [EN, KO])
def test_bad_addresses_are_said_in_words(site: Site, cookies: dict[str, str]) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    bogus = client.get("/records/bogus/1", cookies=cookies)
    assert bogus.status_code == 404
    page = client.get("/links?page=-1", cookies=cookies)
    assert page.status_code == 422
    year = client.get("/search?year=abc", cookies=cookies)
    assert year.status_code == 422
    for answer in (bogus, page, year):
        assert not any(words in answer.text for words in FRAMEWORK), answer.text
    assert ("Page number" if cookies is EN else "쪽 번호") in page.text
    assert "Narrowed to" not in year.text and "좁힌 조건" not in year.text
    if cookies is KO:
        assert "is not a year" not in year.text and "2009 같은 연도가 아닙니다" in year.text
    # the API keeps its machine-readable form
    api = client.get("/api/links?limit=0")
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_input"


# -- item 18: the link queue ------------------------------------------------------------------


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_linked_site(tmp_path_factory.mktemp("review-links") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def test_the_queue_says_its_size_and_names_its_columns(linked: Site) -> None:
    client = _english("reviewer", linked)
    pending = linked.app.state.web.archive.links.progress("persons")["pending"]
    page = client.get("/links").text
    tabs = re.search(r'<nav class="filters tabs".*?</nav>', page, re.S)[0]  # type: ignore[index]
    assert "Waiting for review" in tabs and "Accepted" in tabs and ">pending<" not in tabs
    assert f'<span class="n">{pending:,}</span>' in tabs
    assert f"Pairs waiting for review: {pending:,}." in page
    headings = re.findall(r'<table class="compared">.*?<thead><tr>(.*?)</tr>', page, re.S)
    assert headings
    for heading in headings:
        assert not re.search(r'<th scope="col">\d+</th>', heading), heading


# -- item 19: the dashboard -------------------------------------------------------------------


def test_bar_labels_are_whole_and_counts_grouped() -> None:
    from sillok.web.charts import bar_chart, label_lines, year_chart

    label = "Labour re-education centre (rodong kyoyangso) in the county town"
    lines = label_lines(label)
    assert " ".join(lines) == label and all(len(line) <= 34 for line in lines)
    rows = [{"k": f"k{n}", "label": f"Type {n}", "count": 2000 - n} for n in range(20)]
    chart = bar_chart(rows, "k")
    assert len(chart.bars) == 15 and len(chart.rows) == 20 and chart.cut
    years = year_chart(
        [
            {"year": "2001", "label": "2001", "count": 12},
            {"year": "several", "label": "spans several years", "count": 920},
            {"year": "1999", "label": "1999", "count": 3},
        ]
    )
    assert [b.label for b in years.bars] == ["1999", "2001"]
    assert years.left_out == [("spans several years", 920)]


def test_the_dashboard_groups_digits_and_says_what_a_chart_leaves_out(site: Site) -> None:  # noqa: F811
    from sillok.web.charts import Bar, BarChart, label_lines

    templates = site.app.state.web.templates
    macros = templates.get_template("macros.html").module
    chart = BarChart(
        [
            Bar(
                "k",
                "Discrimination against persons with disabilities",
                1234,
                0,
                100,
                label_lines("Discrimination against persons with disabilities"),
            )
        ],
        720,
        40,
        260,
        22,
    )
    drawn = str(macros.bar_chart(chart, "Acts", "c-x"))
    assert ">1,234<" in drawn and "…" not in drawn and "disabilities" in drawn
    page = _english("viewer", site).get("/dashboard").text
    assert "…</text>" not in page and "…</tspan>" not in page


# -- item 20: the statement form ---------------------------------------------------------------


def test_the_statement_form_names_languages_and_helps_with_the_text(site: Site) -> None:  # noqa: F811
    form = _english("documenter", site).get("/statements/new").text
    assert '<option value="ko">Korean</option>' in form
    assert 'id="body-help"' in form and "Markdown" in form
    assert 'aria-describedby="body-help' in form
    assert 'href="/search"' in re.search(r'id="events".*?</form>', form, re.S)[0]  # type: ignore[index]


# -- item 21: the import page ------------------------------------------------------------------


def test_the_import_page_lists_the_columns_and_gives_a_template(site: Site) -> None:  # noqa: F811
    client = _english("documenter", site)
    page = client.get("/import").text
    assert 'href="/import/template.csv"' in page
    for column in COLUMNS:
        assert f"<code translate=\"no\">{column}</code>" in page
    template = client.get("/import/template.csv")
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert tuple(header) == COLUMNS
    assert login(site.app, "viewer").get("/import/template.csv").status_code == 403


def test_the_report_shows_valid_rows_and_gives_the_problems_as_a_file(site: Site) -> None:  # noqa: F811
    client = _english("documenter", site)
    report = _upload(client, EN)
    assert "The first valid rows, as they will be imported" in report
    assert report.count('<td translate="no">GR-') == 3
    link = re.search(r'href="(/import/problems\.csv\?id=[^"]+)"', report)
    assert link, report
    problems = client.get(link[1].replace("&amp;", "&"))
    assert problems.status_code == 200
    lines = list(csv.reader(io.StringIO(problems.content.decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Column", "Value", "Problem"]
    assert any("shemale" in line for line in lines[1:])
    # another session's upload is not theirs to fetch
    assert _english("admin", site).get(link[1]).status_code == 404


# -- item 22: the users table ------------------------------------------------------------------


def test_no_column_heading_is_empty(site: Site) -> None:  # noqa: F811
    admin = _english("admin", site)
    for path in ("/users", "/dashboard"):
        page = admin.get(path).text
        assert '<th scope="col"></th>' not in page and "<th></th>" not in page, path
    assert password("admin") not in admin.get("/users").text


def test_an_empty_list_of_statements_says_so(site: Site) -> None:  # noqa: F811
    from types import SimpleNamespace

    from sillok.web import i18n
    from sillok.web.access import NOBODY

    page = site.app.state.web.templates.get_template("statements.html").render(
        _=i18n.translator("en"),
        lang="en",
        languages=i18n.LANGUAGE_NAMES,
        principal=NOBODY,
        may=lambda action, kind=None: True,
        csrf="",
        path="/statements",
        here="/statements",
        listing=SimpleNamespace(items=[], has_next=False),
        page=1,
    )
    assert "No statements or news yet. Write the first one." in page
    assert "<table" not in page.split("<main", 1)[-1]
