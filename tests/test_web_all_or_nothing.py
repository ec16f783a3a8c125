"""Every web form is all or nothing: a refused submission leaves the archive as it was.

One test per form that creates or changes something (statements new, edit, translate and
their API twins; users add and remove; link decisions; imports; testimony entry; evidence
upload; the passphrase change). Each sends what the form refuses, mixed with values that
would be written if they were checked one at a time (a new signatory, a new agency, a valid
act), and compares the archive before and after: the log (every record write extends it),
the users, the statements and the counts.
"""

from __future__ import annotations

from typing import Any

from tests.datasets import YODOK, row
from tests.test_web_app import Site, csrf_of, login, password, site  # noqa: F401  (fixture)

MISSING_EVENT = "99998"


def _state(site: Site) -> tuple[Any, ...]:  # noqa: F811
    """What a refused form must leave as it was."""
    archive = site.app.state.web.archive
    statements = archive.statements.page(published_only=False, limit=100)
    return (
        archive.store.state_mark(),
        sorted(sorted(u.items()) for u in archive.users.list()),
        statements.total,
        [(s.id, s.version, s.title, [e.id for e in s.events]) for s in statements.items],
        archive.stats.archive_counts(),
        [
            archive.organizations.resolve(name)
            for name in (
                "A Signatory Never Seen Before",
                "Another Unseen Signatory",
                "An Agency Never Seen",
            )
        ],
    )


def _statement_form(token: str, **values: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "title": "Repro: bad event id",
        "body": "x",
        "language": "en",
        "kind": "statement",
        "date": "",
        "signatories": "A Signatory Never Seen Before",
        "events": MISSING_EVENT,
    }
    return {**form, **values}


def test_a_statement_with_a_missing_event_is_not_saved(site: Site) -> None:  # noqa: F811
    client = login(site.app, "coordinator")
    token = csrf_of(client)
    before = _state(site)
    refused = client.post("/statements/new", data=_statement_form(token))
    assert refused.status_code == 422
    assert MISSING_EVENT in refused.text
    assert _state(site) == before  # no draft, no new signatory organization
    # each other field a form can get wrong, with the rest right: nothing either
    for wrong in (
        {"title": ""},
        {"body": "  "},
        {"language": "xx"},
        {"kind": "tweet"},
        {"date": "the 13th of Smarch"},
        {"events": "seven"},
    ):
        events = {"events": str(site.ids["event_public"])}
        answer = client.post("/statements/new", data=_statement_form(token, **{**events, **wrong}))
        assert answer.status_code == 422, wrong
        assert _state(site) == before, wrong
    # corrected and sent again: one statement, not two
    fixed = client.post(
        "/statements/new",
        data=_statement_form(token, events=str(site.ids["event_public"])),
        follow_redirects=False,
    )
    assert fixed.status_code == 303
    listing = site.app.state.web.archive.statements.page(published_only=False, limit=100)
    assert listing.total == before[2] + 1
    assert [s.title for s in listing.items].count("Repro: bad event id") == 1


def test_a_refused_statement_edit_changes_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "coordinator")
    token = csrf_of(client)
    draft = site.ids["draft"]
    before = _state(site)
    for wrong in ({"events": MISSING_EVENT}, {"date": "Smarch"}, {"body": ""}):
        values = _statement_form(token, title="A new title", **wrong)
        values.pop("language")
        answer = client.post(f"/statements/{draft}/edit", data=values)
        assert answer.status_code == 422, wrong
        assert _state(site) == before, wrong
    assert site.app.state.web.archive.statements.get(draft).title == "Secret draft"


def test_a_refused_translation_changes_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "coordinator")
    token = csrf_of(client)
    before = _state(site)
    for wrong in ({"language": "en"}, {"language": "ko", "title": ""}):  # en: the original's
        data = {"csrf_token": token, "title": "번역", "body": "본문", **wrong}
        answer = client.post(f"/statements/{site.ids['joint']}/translate", data=data)
        assert answer.status_code == 422, wrong
        assert _state(site) == before, wrong


def test_the_statement_api_is_all_or_nothing_too(site: Site) -> None:  # noqa: F811
    client = login(site.app, None)
    token = client.post(
        "/api/tokens", json={"username": "coordinator", "passphrase": password("coordinator")}
    ).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    before = _state(site)
    created = client.post(
        "/api/statements",
        json={
            "title": "API repro",
            "body": "x",
            "language": "en",
            "signatories": ["Another Unseen Signatory"],
            "events": [int(MISSING_EVENT)],
        },
    )
    assert created.status_code == 422 and MISSING_EVENT in created.text
    assert _state(site) == before
    changed = client.patch(
        f"/api/statements/{site.ids['draft']}",
        json={"title": "Changed by the API", "events": [int(MISSING_EVENT)]},
    )
    assert changed.status_code == 422
    assert _state(site) == before


def test_refused_user_changes_change_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "admin")
    token = csrf_of(client, "/users")
    before = _state(site)
    strong = "a long enough passphrase for a test 7"
    for form in (
        {"name": "newcomer", "role": "viewer", "passphrase": strong, "repeat": strong + "x"},
        {"name": "newcomer", "role": "emperor", "passphrase": strong, "repeat": strong},
        {"name": "newcomer", "role": "viewer", "passphrase": "short", "repeat": "short"},
        {"name": "", "role": "viewer", "passphrase": strong, "repeat": strong},
        {"name": "viewer", "role": "admin", "passphrase": strong, "repeat": strong},
    ):
        answer = client.post("/users", data={"csrf_token": token, **form})
        assert answer.status_code == 422, form
        assert _state(site) == before, form
    for name in ("admin", "nobody-by-this-name"):  # oneself; someone who is not there
        answer = client.post(f"/users/{name}/remove", data={"csrf_token": token})
        assert answer.status_code in (404, 422), name
        assert _state(site) == before, name


def test_a_refused_link_decision_changes_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "reviewer")
    token = csrf_of(client, "/links")
    before = _state(site)
    for link_id, verdict in (("999999", "accept"), ("1", "maybe")):
        answer = client.post(f"/links/{link_id}", data={"csrf_token": token, "verdict": verdict})
        assert answer.status_code in (404, 422), (link_id, verdict)
        assert _state(site) == before


def test_a_testimony_with_one_bad_act_writes_none(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    before = _state(site)
    answer = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "source_type": "interview",
            "informant": "Witness Never Saved",
            "event-0-event_title": "반만 맞는 증언",
            "act-0-0-act_type": "고문",
            "act-0-0-act_date": "2011년 3월",
            "act-0-0-victim_name": "A Victim Never Saved",
            "act-0-0-perpetrator_org": "An Agency Never Seen",
            "act-0-1-act_type": "flying without a licence",
        },
    )
    assert answer.status_code == 422
    assert _state(site) == before


def test_a_refused_import_writes_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    token = csrf_of(client, "/import")
    before = _state(site)
    header = ",".join(YODOK[0])
    bad = row(source_ref="IMP-X", act_type="alien abduction", act_date="2001", place="Nowhereville")
    body = f"{header}\n{','.join(bad.values())}\n"
    report = client.post(
        "/import", data={"csrf_token": token}, files={"file": ("a.csv", body.encode(), "text/csv")}
    )
    assert report.status_code == 200 and "alien abduction" in report.text
    assert _state(site) == before  # the report is shown; nothing is written
    wrong = client.post("/import/commit", data={"csrf_token": token, "import_id": "not-waiting"})
    assert wrong.status_code == 404
    assert _state(site) == before
    empty = client.post(
        "/import", data={"csrf_token": token}, files={"file": ("a.pdf", b"%PDF", "a/b")}
    )
    assert empty.status_code == 422
    assert _state(site) == before


def test_a_refused_evidence_upload_writes_nothing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    token = csrf_of(client)
    before = _state(site)
    answer = client.post(
        "/records/act/999999/attachments",
        data={"csrf_token": token},
        files={"file": ("scan.txt", b"evidence", "text/plain")},
    )
    assert answer.status_code in (404, 422)
    assert _state(site) == before


def test_a_refused_passphrase_change_keeps_the_old_one(site: Site) -> None:  # noqa: F811
    client = login(site.app, "analyst")
    token = csrf_of(client, "/account")
    new = "a brand new passphrase for the analyst 9"
    for form in (
        {"current_passphrase": password("analyst"), "new_passphrase": new, "repeat": new + "!"},
        {"current_passphrase": "not the passphrase", "new_passphrase": new, "repeat": new},
        {"current_passphrase": password("analyst"), "new_passphrase": "short", "repeat": "short"},
    ):
        answer = client.post("/account/passphrase", data={"csrf_token": token, **form})
        assert answer.status_code == 422, form
    assert login(site.app, "analyst").get("/account").status_code == 200  # the old one works
