"""Korean first, everywhere (issue 14): every page, rendered in Korean for each role that sees
different pages, shows no Latin-script word of the interface — act types, places, agencies,
sex, roles, sharing levels, titles, dates, field errors, import problems, linkage evidence are
all in Korean. What a page shows as data (names, refs, quoted values) is excepted: either marked
in the page (``translate="no"`` or a ``lang`` other than Korean, as HTML means them), or a value
this test put into the archive itself (collected from its input, not guessed)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from sillok.archive import Archive
from sillok.errors import NotFound
from sillok.records.flatacts import COLUMNS
from sillok.web.imports import TARGETS
from tests.datasets import YODOK, row, write_csv
from tests.test_links import duplicated_victims
from tests.test_web_app import Site, build_site, csrf_of, login

#: Latin-script words a Korean page may show: names of formats, standards and the system
ALLOWED = {"Sillok", "PDF", "CSV", "XLSX", "JSON", "API", "EDTF", "Atom", "NGO", "MSE"}
#: the flat acts format's column names, in brackets after a Korean label (a file format's names,
#: like CSV: the import page shows each as a file's header must spell it)
FORMAT_NAMES = re.compile(rf"\((?:{'|'.join(map(re.escape, (*COLUMNS, *TARGETS)))})\)")
#: fields of the test's input rows that hold data (names, refs, free text), not vocabulary
DATA_FIELDS = (
    "source_ref", "informant", "event_ref", "event_title", "victim_ref", "victim_name",
    "victim_name_hangul", "description", "perpetrator_name", "title", "narrative",
)  # fmt: skip
#: attributes a reader sees or hears
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
#: elements whose content is never shown
HIDDEN = {"script", "style", "template", "noscript", "svg", "math"}
#: elements without an end tag
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
}  # fmt: skip
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
#: what is not a word of the interface: addresses, paths, file names, what is quoted as typed
#: ('someday'), and the stand-ins the access policy gives records a role may not identify
#: (``person-3f9a1c2e``: a stable identifier, the same on every page and in open data)
NOT_WORDS = re.compile(
    r"https?://\S+|(?<![\w.])/[\w/.?=&-]+|[\w-]*\.(?:csv|jsonl|xlsx|pdf|json)(?![A-Za-z])"
    r"|'[^'\n]*'"
    r"|\b(?:person|organization|place)-[0-9a-f]{8}\b"
)


class ShownText(HTMLParser):
    """The text a reader of a page sees (and hears from a screen reader), without what the page
    marks as not for translation (``translate="no"``, a ``lang`` other than Korean)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, content skipped)
        self.shown: list[str] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = {k: v or "" for k, v in attrs}
        lang = given.get("lang", "")
        skip = (
            self.skipping
            or tag in HIDDEN
            or given.get("translate") == "no"
            or (tag != "html" and lang != "" and not lang.startswith("ko"))
            or "hidden" in given
            or given.get("aria-hidden") == "true"
        )
        if not skip:
            self.shown.extend(given[a] for a in SHOWN_ATTRIBUTES if given.get(a))
            kind = given.get("type", "")
            if tag == "input" and kind in ("submit", "button", "reset") and given.get("value"):
                self.shown.append(given["value"])
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):  # forgiving: close up to the match
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.shown.append(data)


def shown_text(page: str) -> str:
    """What a reader sees of ``page`` (an HTML document), one piece a line."""
    parser = ShownText()
    parser.feed(page)
    parser.close()
    return "\n".join(s.strip() for s in parser.shown if s.strip())


def latin_words(text: str, data: set[str]) -> set[str]:
    """The Latin-script words of ``text`` that are neither allowed nor data."""
    return {
        w
        for w in LATIN_WORD.findall(NOT_WORDS.sub(" ", FORMAT_NAMES.sub(" ", text)))
        if w not in ALLOWED and w.strip("'’") not in data
    }


# --- the archive ------------------------------------------------------------------------------

DUPLICATES = duplicated_victims(12)
#: a file with a problem on each line, for the import page's report
BAD_IMPORT = [
    row(source_ref="BAD-1", act_type="torture", act_date="2001", victim_sex="shemale"),
    row(source_ref="BAD-2", act_type="arbitary detention", act_date="2001"),
    row(source_ref="BAD-3", act_type="torture", act_date="sometime in spring"),
    row(source_ref="BAD-4", act_type="torture", act_date="2001", place="Atlantis"),
    row(source_ref="BAD-5", act_type="torture", act_date="2001", sharing="secretive"),
]
#: what the test types into forms (quoted back to the reader as typed)
TYPED = (
    "arbitary detention",
    "sometime in spring",
    "shemale",
    "Atlantis",
    "secretive",
    "BAD",
    "someday",
)


@pytest.fixture(scope="module")
def korean_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web tests' archive with victims reported twice under other spellings, linked (the
    review queue shows pairs and their evidence)."""
    built = build_site(tmp_path_factory.mktemp("korean") / "archive")
    archive = built.app.state.web.archive
    archive.ingest.run(write_csv(built.folder.parent / "duplicates.csv", DUPLICATES))
    assert archive.links.find("persons").new >= 4
    built.app.state.web.cache.clear()
    try:
        yield built
    finally:
        built.app.state.web.close()


def data_words(site: Site) -> set[str]:
    """Every Latin-script word the archive holds as data: the names, refs and free text of the
    rows imported, every record's ref, names, aliases, legal references and vocabulary key
    (identifiers and names, as recorded), the statements' titles, texts and signatories (not
    the users' names: they are the roles' names here, and the pages mark them as names)."""
    archive = site.app.state.web.archive
    texts = [r[f] for r in (*YODOK, *DUPLICATES, *BAD_IMPORT) for f in DATA_FIELDS if f in r]
    for kind in ("source", "event", "act", "person", "place", "organization"):
        for record in _records_of(archive, kind):
            texts += [str(record.get(f) or "") for f in RECORD_DATA]
    for key in ("old", "joint", "draft"):
        s = archive.statements.get(site.ids[key])
        texts += [s.title, s.body, *(g.name for g in s.signatories)]
    texts += TYPED
    return {w for t in texts for w in LATIN_WORD.findall(t)}


#: fields of a record that hold names and identifiers
RECORD_DATA = ("ref", "vocab_key", "aliases", "legal_refs", "names", "victim_names")


def _records_of(archive: Archive, kind: str) -> Iterator[dict[str, Any]]:
    """Every record of ``kind`` (ids are numbered from 1)."""
    for record_id in itertools.count(1):
        try:
            yield archive.records.show(kind, record_id)
        except NotFound:
            return


# --- the pages --------------------------------------------------------------------------------

ROLES = ("admin", "coordinator", "documenter", "reviewer", "analyst", "viewer")


def _records(site: Site) -> dict[str, str]:
    act = site.app.state.web.archive.records.show("act", site.ids["act_internal"])
    return {
        "source": f"/records/source/{site.ids['source']}",
        "event": f"/records/event/{site.ids['event_internal']}",
        "act": f"/records/act/{site.ids['act_internal']}",
        "person": f"/records/person/{site.ids['victim']}",
        "place": f"/records/place/{act['place_id']}",
        "organization": "/records/organization/1",
    }


def pages_of(role: str | None, site: Site) -> tuple[str, ...]:
    """The pages ``role`` can reach (None: a visitor), and a few it cannot (403, 404)."""
    joint, draft = site.ids["joint"], site.ids["draft"]
    public = ("/", "/news", f"/news/{joint}", "/news/999999", "/login", "/no/such/page")
    if role is None:
        return public
    records = _records(site)
    staff = (
        *public,
        "/dashboard",
        "/search",
        "/search?q=torture",
        "/search?q=요덕",
        "/search?act_type=torture&sharing=internal",
        "/search?q=&sort=date",
        "/search?from=2009&to=2010",
        "/search?from=someday",
        *records.values(),
        *(f"{r}/history" for r in records.values()),
        "/records/act/999999",
        "/links",
        "/links?kind=persons&status=accepted",
        "/links?kind=events",
        "/estimate",
        "/estimate?by=year",
        "/account",
        "/statements",
        f"/statements/{joint}",
        "/testimonies/new",
        "/import",
        "/users",
        "/audit",
        "/site/settings",
    )
    if role != "admin":
        return staff
    return (
        *staff,
        *(f"{r}/edit" for r in records.values()),
        f"{records['source']}?reveal=1",
        f"{records['act']}/edit?reveal=1",
        "/statements/new",
        f"/statements/{joint}/edit",
        f"/statements/{joint}/history",
        f"/statements/{draft}/translate",
        "/audit?action=login",
    )


def _leaks(page: str, data: set[str]) -> set[str]:
    return latin_words(shown_text(page), data)


def test_the_text_extraction_sees_what_a_reader_sees() -> None:
    page = (
        '<html lang="ko"><head><title>기록</title><style>p{color:red}</style></head><body>'
        '<p title="Tip">사람 <span translate="no">Kim</span> <b>torture</b></p>'
        '<blockquote lang="en">Quoted English</blockquote><script>var x = "code";</script>'
        '<input type="submit" value="Save"><input type="hidden" value="token">'
        '<input placeholder="Search"><img alt="Chart"><br>끝</body></html>'
    )
    assert _leaks(page, set()) == {"Tip", "torture", "Save", "Search", "Chart"}
    assert _leaks(page, {"torture"}) == {"Tip", "Save", "Search", "Chart"}


@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_page_in_korean_has_no_english_interface_word(
    korean_site: Site, role: str | None
) -> None:
    data = data_words(korean_site)
    client = login(korean_site.app, role)
    client.cookies.set("sillok_lang", "ko")
    found: dict[str, set[str]] = {}
    for path in pages_of(role, korean_site):
        answer = client.get(path)
        assert answer.status_code in (200, 403, 404, 422), (path, answer.status_code)
        assert 'lang="ko"' in answer.text[:300], path
        leaks = _leaks(answer.text, data)
        if leaks:
            found[path] = leaks
    assert found == {}, found


def test_form_errors_and_import_problems_are_korean(korean_site: Site) -> None:
    data = data_words(korean_site)
    client = login(korean_site.app, "documenter")
    client.cookies.set("sillok_lang", "ko")
    found: dict[str, set[str]] = {}
    testimony = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "source_type": "interview",
            "source_date": "sometime in spring",
            "event-0-event_title": "잘못된 입력",
            "act-0-0-act_type": "arbitary detention",
            "act-0-0-act_date": "sometime in spring",
            "act-0-0-victim_sex": "shemale",
            "act-0-1-place": "Atlantis",
        },
    )
    assert testimony.status_code == 422, testimony.text
    found["/testimonies/new (errors)"] = _leaks(testimony.text, data)
    header = ",".join(YODOK[0])
    body = "\n".join([header, *(",".join(r.values()) for r in BAD_IMPORT)]) + "\n"
    report = client.post(
        "/import",
        data={"csrf_token": csrf_of(client)},
        files={"file": ("acts.csv", body.encode(), "text/csv")},
    )
    assert "shemale" in report.text  # the problems are listed, quoting what was typed
    found["/import (problems)"] = _leaks(report.text, data)
    unreadable = client.post(
        "/import",
        data={"csrf_token": csrf_of(client)},
        files={"file": ("acts.csv", b"\x00\x01 not a table", "text/csv")},
    )
    found["/import (unreadable)"] = _leaks(unreadable.text, data)
    assert {p: w for p, w in found.items() if w} == {}


def test_edit_and_administration_errors_are_korean(korean_site: Site) -> None:
    """The record editor's refusals, the users page's and the statement form's errors."""
    data = data_words(korean_site)
    admin = login(korean_site.app, "admin")
    admin.cookies.set("sillok_lang", "ko")
    found: dict[str, set[str]] = {}
    place = _records(korean_site)["place"]
    form = admin.get(f"{place}/edit").text
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version, form
    edited = admin.post(
        f"{place}/edit",
        data={
            "latitude": "north-ish",
            "longitude": "500",
            "within": "Atlantis",
            "version": version[1],
            "csrf_token": csrf_of(admin),
        },
    )
    assert edited.status_code == 422, edited.text
    found["place edit"] = _leaks(edited.text, data)
    event = f"/records/event/{korean_site.ids['event_internal']}"
    version = re.search(r'name="version" value="(\d+)"', admin.get(f"{event}/edit").text)
    assert version
    edited = admin.post(
        f"{event}/edit",
        data={
            "date": "someday",
            "sharing": "secretive",
            "version": version[1],
            "csrf_token": csrf_of(admin),
        },
    )
    assert edited.status_code == 422, edited.text
    found["event edit"] = _leaks(edited.text, data)
    for typed in (
        {"name": "x1", "role": "viewer", "passphrase": "a long enough one 1", "repeat": "other"},
        {
            "name": "x2",
            "role": "emperor",
            "passphrase": "a long enough one 1",
            "repeat": "a long enough one 1",
        },
        {"name": "x3", "role": "viewer", "passphrase": "short", "repeat": "short"},
    ):
        users = admin.post("/users", data={**typed, "csrf_token": csrf_of(admin, "/users")})
        assert users.status_code == 422, users.text
        found[f"users {typed['name']}"] = _leaks(users.text, data | {"emperor"})
    statement = admin.post(
        "/statements/new",
        data={
            "title": "제목",
            "body": "본문",
            "language": "ko",
            "kind": "statement",
            "date": "someday",
            "csrf_token": csrf_of(admin, "/statements/new"),
        },
    )
    assert statement.status_code == 422, statement.text
    found["statement form"] = _leaks(statement.text, data)
    assert {p: w for p, w in found.items() if w} == {}


def test_the_catalogue_says_each_secret_by_one_word() -> None:
    """docs/web.md, "Korean terms": a passphrase is 암호 문구 (never 암호문, ciphertext, nor
    비밀구절 or 비밀번호), an authenticator's secret is 비밀값, the archive is 아카이브 and its
    keys are 키 (not 기록보관소, 열쇠)."""
    from sillok.web.i18n import catalog

    korean = catalog("ko")
    for english, said in korean.items():
        if "passphrase" in english.lower():
            assert "암호 문구" in said, english
        if re.search(r"\bsecret\b", english):
            assert "비밀값" in said, english
        for word in ("암호문", "비밀구절", "비밀번호", "기록보관소", "열쇠"):
            assert word not in said.replace("암호 문구", ""), (english, word)


def test_the_same_pages_in_english_would_fail(korean_site: Site) -> None:
    """The check is not blind: an English page is full of words it reports."""
    client = login(korean_site.app, "admin")
    client.cookies.set("sillok_lang", "en")
    leaks = _leaks(client.get("/dashboard").text, data_words(korean_site))
    assert {"Search", "Dashboard"} <= leaks or len(leaks) > 20, leaks
