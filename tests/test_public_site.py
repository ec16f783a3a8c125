"""The public site: a member's news item as the coalition's page shows it (issue 15's page:
breadcrumb, posted date, member, title, body, signed date, signatories, previous and next with
their titles), in Korean and English; the member filter; the site's settings and logo, set by a
publisher and refused to a viewer, on the command line, through the library and on the web.

:func:`build_news` makes the archive the static-site and feed tests use too.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app as cli
from sillok.errors import InvalidInput
from sillok.records.site import LOGO_MAX, Site, SiteChange, SiteSettingError, checked_logo
from sillok.records.statement_files import import_files
from sillok.store import rows as store_rows
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.security.conftest import open_as

MEMBERS = ["NKnet", "Open North Korea", "Unification Media Group"]
SIGNATORIES = [
    "Network for Democratization and Human Rights in North Korea",
    "Open North Korea",
    "Unification Media Group",
    "Unification Academy",
    "Unification Strategy Institute",
]
TITLE = "NKnet-Cease the repression of North Korean human rights groups immediately."
TITLE_KO = "북한인권단체에 대한 탄압을 즉각 중단하라"
OLDER = ("Open North Korea: detained defectors must be heard", "탈북민 구금 피해자의 목소리")
NEWER = ("Unification Media Group: radio for the North", "통일미디어그룹: 북한을 향한 방송")
CANARY_DRAFT = "QZXDRAFTCANARY"
CANARY_EVENT = "QZXEVENTCANARY"
PUBLIC_EVENT = "Public hearing on the registration inspections"
CRUMBS = {
    "en": ["Home", "Coalition Activities", "News on Members"],
    "ko": ["홈", "연대 활동", "회원 소식"],
}
NAMES = {"en": "North Korean Human Rights Coalition", "ko": "북한인권단체연합회"}
DATES = {
    "en": ("26 August 2020", "21 July 2020"),
    "ko": ("2020년 8월 26일", "2020년 7월 21일"),
}

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
The Ministry of Unification has begun inspecting the registered North Korean human rights groups.

The inspection singles out the groups that send leaflets and radio to the North.

We make four demands:

1. Stop the inspection of North Korean human rights groups.
2. Withdraw the cancellation of their registration.
3. Guarantee the freedom of association.
4. Listen to the victims.

> Human rights do not stop at the border.

We make three requests of the National Assembly:

- hold a hearing;
- protect the groups' donors;
- ask the ministry for its criteria.
"""

NEWS_KO = f"""---
title: "{TITLE_KO}"
kind: news
member: NKnet
posted: 2020-08-26
signed: 2020-07-21
language: ko
translation_of: nknet.md
signatories:
{chr(10).join("  - " + s for s in SIGNATORIES)}
---
통일부는 등록된 북한인권단체에 대한 사무검사를 시작했다.

우리는 네 가지를 요구한다:

1. 북한인권단체에 대한 사무검사를 중단하라.
2. 등록 취소를 철회하라.
3. 결사의 자유를 보장하라.
4. 피해자의 목소리를 들어라.
"""


@dataclass
class NewsArchive:
    """The archive of the issue's page and what the tests need to know about it."""

    folder: Path
    ids: dict[str, int]


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    """A valid PNG image of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def build_news(folder: Path, database: str | None = None) -> NewsArchive:
    """The issue's news item, its Korean translation, an older and a newer item (each in both
    languages), a draft and a confidential event holding canaries, and the site's settings."""
    archive = Archive.create(folder, PASSPHRASE, database=database, settings=FAST)
    try:
        statements = archive.statements
        statements.set_members(MEMBERS)
        files = folder.parent / f"{folder.name}-files"
        files.mkdir()
        (files / "nknet.md").write_text(NEWS, encoding="utf-8")
        (files / "nknet-ko.md").write_text(NEWS_KO, encoding="utf-8")
        news, news_ko = import_files(statements, [files / "nknet.md", files / "nknet-ko.md"])
        ids = {"news": news.id, "news_ko": news_ko.id}
        for name, (en, ko), posted, member in (
            ("older", OLDER, "2020-05-04", "Open North Korea"),
            ("newer", NEWER, "2020-11-30", "Unification Media Group"),
        ):
            item = statements.write(en, f"{en}.\n\nA paragraph.", "en", "news", posted,
                                    member=member, signed=posted)
            translated = statements.translate(item.id, "ko", ko, f"{ko}.\n\n한 문단.")
            ids[name], ids[f"{name}_ko"] = item.id, translated.id
        with archive.store.transaction() as conn:
            public, secret = store_rows.insert_records(
                conn,
                archive.store.dialect,
                "event",
                [
                    {"title": PUBLIC_EVENT, "sharing": "public"},
                    {"title": f"{CANARY_EVENT} raid on a shelter", "sharing": "confidential"},
                ],
                "owner",
            )
        statements.set_events(news.id, [public, secret])
        for key in ("news", "news_ko", "older", "older_ko", "newer", "newer_ko"):
            statements.publish(ids[key])
        draft = statements.write(f"{CANARY_DRAFT} draft", f"Not yet {CANARY_DRAFT}.", "en",
                                 "news", "2021-01-01", member="NKnet")
        ids.update(draft=draft.id, event_public=public, event_secret=secret)
        ids["member_open"] = next(m.id for m in statements.members() if m.name == MEMBERS[1])
        site = Site(archive.vault)
        for lang in ("en", "ko"):
            site.set(SiteChange(lang=lang, name=NAMES[lang], section=CRUMBS[lang][-1],
                                breadcrumb=" > ".join(CRUMBS[lang])))
        site.set(SiteChange(logo=checked_logo(tiny_png())))
        archive.users.add("viewer", "viewer", "viewer passphrase 1")
        archive.users.add("coordinator", "coordinator", "coordinator passphrase 1")
    finally:
        archive.close()
    return NewsArchive(folder, ids)


def assert_in_order(html: str, parts: list[str]) -> None:
    """Every part is in the page, in this order."""
    at, found = 0, {}
    for part in parts:
        i = html.find(part, at)
        found[part] = i
        assert i >= 0, f"{part!r} missing (or out of order) after {found}"
        at = i + len(part)


def item_parts(lang: str, title: str, body: list[str], older: str, newer: str) -> list[str]:
    """What an item page shows, in the order it shows it (issue 15's page)."""
    posted, signed = DATES[lang]
    return [
        'class="breadcrumb"',
        *CRUMBS[lang],
        '<time class="posted" datetime="2020-08-26">' + posted,
        "NKnet",
        f"<h1>{title}</h1>",
        *body,
        '<time class="signed-on" datetime="2020-07-21">' + signed,
        *[f"<li>{s}</li>" for s in SIGNATORIES],
        'rel="prev"',
        older,
        'rel="next"',
        newer,
    ]


BODY_EN = ["<li>Stop the inspection", "<li>Listen to the victims.</li>", "<blockquote>",
           "<li>ask the ministry for its criteria.</li>"]
BODY_KO = ["<li>북한인권단체에 대한 사무검사를 중단하라.</li>",
           "<li>피해자의 목소리를 들어라.</li>"]


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> NewsArchive:
    """One archive per module."""
    return build_news(tmp_path_factory.mktemp("public") / "archive")


@pytest.fixture(scope="module")
def visitor(news: NewsArchive) -> Iterator[TestClient]:
    """An anonymous visitor of the live site."""
    app = create_app(news.folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        yield TestClient(app)
    finally:
        app.state.web.close()


def _get(client: TestClient, url: str, lang: str) -> str:
    client.cookies.set("sillok_lang", lang)
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:300])
    return answer.text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_item_page_shows_every_part_in_order_in_both_languages(
    news: NewsArchive, visitor: TestClient, lang: str
) -> None:
    english = _get(visitor, f"/news/{news.ids['news']}", lang)
    assert_in_order(english, item_parts(lang, TITLE, BODY_EN, OLDER[0], NEWER[0]))
    korean = _get(visitor, f"/news/{news.ids['news_ko']}", lang)
    assert_in_order(korean, item_parts(lang, TITLE_KO, BODY_KO, OLDER[1], NEWER[1]))
    # the translation is linked, with its title; the public event named, the confidential not
    assert f'href="/news/{news.ids["news_ko"]}" hreflang="ko" lang="ko"' in english
    assert TITLE_KO in english and PUBLIC_EVENT in english
    assert CANARY_EVENT not in english and CANARY_DRAFT not in english
    assert f"<title>{TITLE} · {NAMES[lang]}</title>" in english
    assert "2020-08-26</time>" not in english  # the date as people write it, not EDTF


def test_open_graph_tags_describe_the_item(news: NewsArchive, visitor: TestClient) -> None:
    page = _get(visitor, f"/news/{news.ids['news']}", "en")
    head = page[: page.index("</head>")]
    tags = dict(re.findall(r'<meta property="([a-z:_]+)" content="([^"]*)">', head))
    assert tags["og:title"] == TITLE
    assert tags["og:type"] == "article"
    assert tags["og:url"] == f"http://testserver/news/{news.ids['news']}"
    assert tags["og:site_name"] == NAMES["en"]
    assert tags["og:description"].startswith("The Ministry of Unification has begun")
    assert tags["article:published_time"] == "2020-08-26"
    assert 'type="application/atom+xml"' in head and 'href="/news/feed.xml"' in head


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_list_and_home_show_breadcrumb_dates_and_members(
    news: NewsArchive, visitor: TestClient, lang: str
) -> None:
    listing = _get(visitor, "/news", lang)
    title, older, newer = (TITLE, *OLDER[:1], *NEWER[:1]) if lang == "en" else (
        TITLE_KO, OLDER[1], NEWER[1])
    assert_in_order(listing, [*CRUMBS[lang], newer, title, DATES[lang][0], "NKnet", older])
    assert CANARY_DRAFT not in listing
    home = _get(visitor, "/", lang)
    assert_in_order(home, [NAMES[lang], newer, title, older])
    assert '<img class="logo" src="/site/logo?v=' in home


def test_the_member_filter_lists_one_members_items(
    news: NewsArchive, visitor: TestClient
) -> None:
    mine = _get(visitor, f"/news?member={news.ids['member_open']}", "en")
    assert OLDER[0] in mine and TITLE not in mine and NEWER[0] not in mine
    assert f'href="/news?member={news.ids["member_open"]}" aria-current="true"' in mine
    item = _get(visitor, f"/news/{news.ids['news']}", "en")
    nknet = re.search(r'href="/news\?member=(\d+)"><span>NKnet</span>', item)
    assert nknet is not None
    theirs = _get(visitor, f"/news?member={nknet[1]}", "en")
    assert TITLE in theirs and OLDER[0] not in theirs
    assert visitor.get("/news?member=999999").status_code == 404
    assert visitor.get("/news?member=nobody").status_code in (404, 422)


def test_the_logo_is_served_as_the_image_it_was_checked_to_be(
    news: NewsArchive, visitor: TestClient
) -> None:
    answer = visitor.get("/site/logo")
    assert answer.status_code == 200 and answer.content == tiny_png()
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_logo_must_be_a_small_png_or_jpeg(tmp_path: Path) -> None:
    assert checked_logo(tiny_png()).media_type == "image/png"
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 20 + b"\xff\xd9"
    assert checked_logo(jpeg).media_type == "image/jpeg"
    refusals = {
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>': "SVG",
        b'<?xml version="1.0"?>\n<svg/>': "SVG",
        b"GIF89a....": "not a PNG or JPEG",
        tiny_png()[:20]: "not a whole PNG",
        tiny_png(5000, 1): "5000x1 pixels",
        b"\xff\xd8\xff" + b"\x00" * 10: "not a whole JPEG",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * (LOGO_MAX + 1): f"more than {LOGO_MAX}",
    }
    for data, why in refusals.items():
        with pytest.raises(SiteSettingError, match=why):
            checked_logo(data, "upload.png")


def test_bad_settings_name_the_setting_and_change_nothing(archive: Archive) -> None:
    site = Site(archive.vault)
    site.set(SiteChange(lang="en", name="Coalition", breadcrumb="Home > News"))
    before = site.settings()
    bad = [
        (SiteChange(lang="en", name="New name", breadcrumb="Home > > News"), "breadcrumb (en)"),
        (SiteChange(lang="en", name="New", breadcrumb=" > ".join(["x"] * 7)), "7 parts"),
        (SiteChange(lang="fr", name="Coalition"), "lang: 'fr'"),
        (SiteChange(lang="en", name="a\x07b"), "control character"),
        (SiteChange(lang="en", name="New", url="javascript:alert(1)"), "url:"),
    ]
    for change, message in bad:
        with pytest.raises(SiteSettingError, match=re.escape(message)):
            site.set(change)
    assert site.settings() == before
    (event,) = archive.audit.events(action="site_settings")
    assert event["detail"]["changed"] == ["breadcrumb.en", "name.en"]
    site.set(SiteChange(logo=checked_logo(tiny_png())))
    site.set(SiteChange(lang="ko", name="연합"))
    assert site.logo() == checked_logo(tiny_png()) and site.settings().names == {
        "en": "Coalition", "ko": "연합"}
    site.set(SiteChange(remove_logo=True, lang="en", name=""))
    assert site.logo() is None and site.settings().names == {"ko": "연합"}


def test_a_viewer_may_not_change_the_settings_nor_publish_the_site(
    news: NewsArchive, tmp_path: Path
) -> None:
    from sillok.web.static_site import StaticSite

    with open_as(news.folder, "viewer", "viewer passphrase 1") as viewer:
        with pytest.raises(InvalidInput, match=r"viewer role .*statement\.publish"):
            Site(viewer.vault).set(SiteChange(lang="en", name="Taken over"))
        with pytest.raises(InvalidInput, match=r"viewer role .*statement\.publish"):
            StaticSite(viewer).write(tmp_path / "site")
        assert Site(viewer.vault).settings().name("en") == NAMES["en"]
    assert not (tmp_path / "site").exists()
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": "viewer passphrase 1"}
    refused = runner.invoke(
        cli,
        ["--user", "viewer", "publish", "settings", str(news.folder), "--lang", "en",
         "--name", "Taken over"],
        env=env,
    )
    assert refused.exit_code == 2, refused.output
    assert "statement.publish" in refused.output and "Traceback" not in refused.output
    shown = runner.invoke(
        cli, ["--user", "viewer", "publish", "site", str(news.folder), "-o",
              str(tmp_path / "out")], env=env
    )
    assert shown.exit_code == 2 and "statement.publish" in shown.output
    assert not (tmp_path / "out").exists()


def test_the_settings_command_sets_and_shows(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    Archive.create(folder, PASSPHRASE, settings=FAST).close()
    logo = tmp_path / "logo.png"
    logo.write_bytes(tiny_png())
    runner = CliRunner()
    env = {"SILLOK_PASSPHRASE": PASSPHRASE}
    done = runner.invoke(
        cli,
        ["publish", "settings", str(folder), "--lang", "en", "--name", "NK Coalition",
         "--breadcrumb", "Home > Coalition Activities > News on Members", "--logo", str(logo)],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "[en] name: NK Coalition" in done.output
    assert "Home > Coalition Activities > News on Members" in done.output
    assert "image/png" in done.output
    svg = tmp_path / "logo.svg"
    svg.write_text("<svg><script>alert(1)</script></svg>", encoding="utf-8")
    refused = runner.invoke(cli, ["publish", "settings", str(folder), "--logo", str(svg)], env=env)
    assert refused.exit_code == 2 and "logo.svg is an SVG" in refused.output
    with Archive.open(folder, PASSPHRASE, settings=FAST) as archive:
        assert Site(archive.vault).settings().logo_type == "image/png"  # the old one kept


def test_the_settings_form_is_a_publishers_and_saves_all_or_nothing(tmp_path: Path) -> None:
    from tests.test_web_app import csrf_of, login

    built = build_news(tmp_path / "archive")
    app = create_app(built.folder, WebSettings(passphrase=PASSPHRASE, archive=FAST))
    try:
        assert login(app, None).get("/site/settings", follow_redirects=False).status_code in (
            303, 401)
        viewer = login(app, "viewer")
        assert viewer.get("/site/settings").status_code == 403
        token = csrf_of(viewer, "/news")
        refused = viewer.post("/site/settings", data={"name_en": "Taken", "csrf_token": token})
        assert refused.status_code == 403
        coordinator = login(app, "coordinator")
        form = coordinator.get("/site/settings")
        assert form.status_code == 200 and "Coalition Activities" in form.text
        token = csrf_of(coordinator, "/site/settings")
        fields = {
            "name_ko": "새 이름", "section_ko": "회원 소식", "breadcrumb_ko": "홈 > 회원 소식",
            "name_en": "New name", "section_en": "Member news", "breadcrumb_en": "Home > > News",
            "csrf_token": token,
        }
        bad = coordinator.post("/site/settings", data=fields)
        assert bad.status_code == 422 and "breadcrumb (en)" in bad.text
        assert NAMES["ko"] in coordinator.get("/").text  # the Korean half was not saved either
        fields["breadcrumb_en"] = "Home > Member news"
        assert coordinator.post("/site/settings", data=fields).status_code == 200
        visitor = TestClient(app)
        visitor.cookies.set("sillok_lang", "en")
        page = visitor.get("/news").text
        assert "New name" in page and "Member news" in page and NAMES["en"] not in page
    finally:
        app.state.web.close()
