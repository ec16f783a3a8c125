"""The audit page: an administrator reads who opened what, filtered and paged; every other
role is refused, on the page, in the API and in the library itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sillok.archive import Archive
from sillok.errors import InvalidInput
from sillok.security.policy import ROLES
from tests.conftest import FAST
from tests.test_web_app import Site, login, site  # noqa: F401  (fixture)

ROWS = re.compile(r"<tr>\s*<td><time", re.S)


def test_only_an_administrator_reads_the_trail_in_the_library(archive: Archive) -> None:
    for role in ROLES:
        if role != "admin":
            archive.users.add(f"u-{role}", role, f"{role} passphrase")
    assert archive.audit.events(action="user_add")  # the administrator reads it
    folder = archive.folder
    for role in ROLES:
        if role == "admin":
            continue
        with Archive.open(
            folder, f"{role} passphrase", settings=FAST, user=f"u-{role}"
        ) as other, pytest.raises(InvalidInput, match="may not read the audit trail"):
            other.audit.events()


def test_the_page_lists_openings_and_filters_them(
    site: Site, tmp_path: Path  # noqa: F811
) -> None:
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "en")
    # an opening of protected fields, audited by the records service
    source = site.ids["source"]
    assert admin.get(f"/api/records/source/{source}?reveal=true").status_code == 200
    page = admin.get("/audit")
    assert page.status_code == 200 and "Audit trail" in page.text
    assert 'href="/audit"' in page.text  # in the navigation
    every = len(ROWS.findall(page.text))
    assert every > 0
    logins = admin.get("/audit?action=login")
    assert logins.status_code == 200
    shown = ROWS.findall(logins.text)
    assert 0 < len(shown) <= every
    assert "Logged in" in logins.text and "Failed login" not in logins.text.split("<tbody>")[1]
    api = admin.get("/api/audit", params={"action": "login"}).json()
    assert api["events"] and {e["action"] for e in api["events"]} == {"login"}
    opened = admin.get("/audit?action=open_sealed&actor=admin")
    assert len(ROWS.findall(opened.text)) >= 1 and "Opened protected fields" in opened.text
    assert "table=person_names" in opened.text  # what was opened
    # one record's events: a file attached to an act, then the act's own write
    evidence = tmp_path / "evidence.txt"
    evidence.write_text("synthetic evidence")
    added = site.app.state.web.archive.attachments.attach("act", site.ids["act_public"], evidence)
    one = admin.get(f"/audit?record=attachment:{added['id']}")
    assert len(ROWS.findall(one.text)) == 1 and "Attached evidence" in one.text
    assert len(ROWS.findall(admin.get("/audit?record=attachment:999999").text)) == 0


def test_the_page_is_korean_in_korean(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "ko")
    page = admin.get("/audit?action=login")
    assert page.status_code == 200
    assert "감사 기록" in page.text and "로그인" in page.text
    assert "Logged in" not in page.text and "Audit trail" not in page.text


def test_paging_goes_back_to_the_first_event(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    seen: list[int] = []
    before = None
    for _ in range(100):
        answer = admin.get("/api/audit", params={"before": before} if before else {}).json()
        seen += [e["id"] for e in answer["events"]]
        before = answer["older"]
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    assert min(seen) == 1


@pytest.mark.parametrize(
    "query, named",
    [("action=nothing", "action"), ("record=act:x", "record"), ("before=0", "before")],
)
def test_bad_filters_are_named(site: Site, query: str, named: str) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "en")
    answer = admin.get(f"/api/audit?{query}")
    assert answer.status_code == 422 and named in answer.text
    page = admin.get(f"/audit?{query}")
    assert page.status_code in (400, 422) and "Traceback" not in page.text


def test_every_other_role_is_refused(site: Site) -> None:  # noqa: F811
    for role in ("coordinator", "documenter", "viewer"):
        client = login(site.app, role)
        assert client.get("/audit").status_code == 403
        assert client.get("/api/audit").status_code == 403
        assert 'href="/audit"' not in client.get("/search").text
    anonymous = login(site.app, None)
    assert anonymous.get("/audit", follow_redirects=False).status_code in (303, 401)
    assert anonymous.get("/api/audit").status_code == 401
