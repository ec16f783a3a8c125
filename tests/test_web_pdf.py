"""A record page and a statement as PDF: the page's redaction exactly, audited as an export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv
from tests.test_report import pdf_bytes_decompressed, pdf_text
from tests.test_web_app import FakeClock, Site, _ids, add_users, login

CANARY = "CANARY-PDF-5591 고문기록"  # sealed: a confidential narrative
PERPETRATOR = "Pak Canary-Perp"  # an identity a viewer may not read in a confidential act


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The Yodok testimonies with a canary in the confidential act's description."""
    folder = tmp_path_factory.mktemp("pdf") / "archive"
    rows = [dict(r) for r in YODOK]
    rows[1]["description"] = CANARY
    rows[1]["perpetrator_name"] = PERPETRATOR
    archive = Archive.create(folder, PASSPHRASE, settings=FAST)
    try:
        archive.ingest.run(write_csv(folder.parent / "rows.csv", rows))
        ids = _ids(archive)
        statements = archive.statements
        joint = statements.write(
            "Joint statement on Yodok", "First paragraph.\n\nSecond paragraph.", "en",
            date="2021-12-10",
        )
        statements.set_signatories(joint.id, ["Test Alliance for Rights", "시험인권모임"])
        statements.set_events(joint.id, [ids["event_public"], ids["event_internal"]])
        statements.publish(joint.id)
        draft = statements.write("Secret draft", f"Not yet. {CANARY}", "en", date="2022-01-01")
        ids.update(joint=joint.id, draft=draft.id)
        add_users(archive)
    finally:
        archive.close()
    app = create_app(folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, clock=FakeClock()))
    try:
        yield Site(app, folder, FakeClock(), ids)
    finally:
        app.state.web.close()


def _pdf(answer: object) -> bytes:
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    assert answer.headers["content-type"] == "application/pdf"  # type: ignore[attr-defined]
    assert answer.headers["content-disposition"].startswith("attachment;")  # type: ignore[attr-defined]
    content: bytes = answer.content  # type: ignore[attr-defined]
    return content


def test_viewer_gets_the_record_redacted_as_on_the_page(site: Site) -> None:
    viewer = login(site.app, "viewer")
    act = site.ids["act_confidential"]
    page = viewer.get(f"/records/act/{act}")
    assert page.status_code == 200 and CANARY not in page.text and PERPETRATOR not in page.text
    assert f'href="/records/act/{act}.pdf"' in page.text
    pdf = _pdf(viewer.get(f"/records/act/{act}.pdf"))
    text = pdf_text(pdf)
    assert "고문" in text  # the act type, in Korean (the site's default language)
    assert "역할상 볼 수 없는 항목" in text and "[가림]" in text  # as the page says it
    for secret in (CANARY, PERPETRATOR):
        assert secret not in text and "Canary" not in text and "CANARY" not in text
        raw = pdf_bytes_decompressed(pdf)
        assert secret.encode("utf-8") not in raw and secret.encode("utf-16-be") not in raw
        assert b"CANARY" not in raw and b"Canary" not in raw


def test_documenter_gets_what_their_page_shows(site: Site) -> None:
    documenter = login(site.app, "documenter")
    act = site.ids["act_confidential"]
    page = documenter.get(f"/records/act/{act}").text
    assert PERPETRATOR in page and CANARY not in page  # sealed until opened
    text = " ".join(pdf_text(_pdf(documenter.get(f"/records/act/{act}.pdf"))).split())
    assert PERPETRATOR in text  # the viewer's check can fail: this role sees the name
    assert CANARY not in text  # a PDF never opens a sealed field
    english = login(site.app, "documenter")
    english.cookies.set("sillok_lang", "en")
    text = pdf_text(_pdf(english.get(f"/records/act/{act}.pdf")))
    assert "Torture" in text


def test_downloads_are_audited_as_exports(site: Site) -> None:
    viewer = login(site.app, "viewer")
    act = site.ids["act_public"]
    _pdf(viewer.get(f"/records/act/{act}.pdf"))
    with Archive.open(site.folder, PASSPHRASE, FAST) as archive:
        events = archive.audit.events(action="export", record_kind="act", record_id=act)
    assert events and events[0]["detail"]["format"] == "pdf"
    assert events[0]["detail"]["role"] == "viewer"


def test_anonymous_gets_no_record_and_no_draft(site: Site) -> None:
    visitor = login(site.app, None)
    for url in (
        f"/records/act/{site.ids['act_public']}.pdf",
        f"/statements/{site.ids['draft']}.pdf",
    ):
        answer = visitor.get(url, follow_redirects=False)
        assert answer.status_code in (303, 401), (url, answer.status_code)
        assert b"%PDF" not in answer.content
    answer = visitor.get(f"/news/{site.ids['draft']}.pdf")
    assert answer.status_code == 404 and CANARY not in answer.text
    viewer = login(site.app, "viewer")
    assert viewer.get(f"/statements/{site.ids['draft']}.pdf").status_code == 403


def test_anyone_gets_a_published_statement(site: Site) -> None:
    visitor = login(site.app, None)
    page = visitor.get(f"/news/{site.ids['joint']}")
    assert f'href="/news/{site.ids["joint"]}.pdf"' in page.text
    text = pdf_text(_pdf(visitor.get(f"/news/{site.ids['joint']}.pdf")))
    flat = " ".join(text.split())
    for words in ("Joint statement on Yodok", "First paragraph.", "Second paragraph.",
                  "Test Alliance for Rights", "시험인권모임", "서명 단체"):
        assert words in flat, words
    assert "Secret draft" not in flat


def test_staff_get_a_draft(site: Site) -> None:
    coordinator = login(site.app, "coordinator")
    page = coordinator.get(f"/statements/{site.ids['draft']}")
    assert f'href="/statements/{site.ids["draft"]}.pdf"' in page.text
    text = pdf_text(_pdf(coordinator.get(f"/statements/{site.ids['draft']}.pdf")))
    assert "Secret draft" in text and CANARY in " ".join(text.split())


def test_an_unknown_record_is_not_found(site: Site, tmp_path: Path) -> None:
    viewer = login(site.app, "viewer")
    assert viewer.get("/records/act/999999.pdf").status_code == 404
    assert viewer.get("/records/shoe/1.pdf").status_code in (404, 422)
