"""Forms and their API twins: testimony entry, import with a validation report, statements,
and API tokens."""

from __future__ import annotations

import re
import time

import pyotp
from fastapi.testclient import TestClient

from tests.datasets import YODOK, row
from tests.test_web_app import Site, csrf_of, login, password, site  # noqa: F401  (fixture)

SOURCE_LINK = re.compile(r"^/records/source/(\d+)\?saved=1$")


def _entry(token: str, **values: str) -> dict[str, str]:
    return {"csrf_token": token, **values}


def test_a_testimony_with_two_acts_is_written_in_its_author_s_name(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    form = client.get("/testimonies/new").text
    for picker in ("act-types", "facility-types", "agencies", "places"):
        assert f'<datalist id="{picker}">' in form
    assert '<option value="고문"' in form  # act types in the page's language
    answer = client.post(
        "/testimonies/new",
        data=_entry(
            csrf_of(client, "/testimonies/new"),
            source_type="interview",
            source_date="2016년 여름",
            informant="Witness Bravo",
            sharing="internal",
            **{
                "event-0-event_title": "회령 집결소 구금",
                "act-0-0-act_type": "고문",
                "act-0-0-act_date": "2011년 3월",
                "act-0-0-place": "Hoeryong",
                "act-0-0-victim_name": "Choe Test-hui",
                "act-0-0-victim_name_hangul": "최시희",
                "act-0-0-victim_birth": "1970년대",
                "act-0-0-perpetrator_org": "Bowibu",
                "act-0-0-perpetrator_role": "superior",
                "act-0-0-description": "Beaten at the holding centre",
                "act-0-1-act_type": "arbitrary detention",
                "act-0-1-act_date": "around 2011",
                "act-0-1-facility": "jipkyulso",
                "act-0-1-victim_name_hangul": "최시희",
                "act-0-1-perpetrator_org": "보안서",
            },
        ),
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    found = SOURCE_LINK.match(answer.headers["location"])
    assert found
    source = client.get(f"/api/records/source/{found[1]}").json()
    assert source["data"]["created_by"] == "documenter"
    assert source["data"]["source_type"] == "interview"
    assert "Witness Bravo" not in str(source)
    acts = source["lists"]["acts"]
    assert len(acts) == 2
    torture = client.get(f"/api/records/act/{acts[0]['id']}").json()["data"]
    assert torture["act_type"] == "torture" and torture["date_edtf"] == "2011-03"
    assert torture["updated_by"] == "documenter"
    assert [p["role"] for p in torture["perpetrators"]] == ["superior"]
    page = client.get(f"/records/act/{acts[0]['id']}", cookies={"sillok_lang": "en"}).text
    assert "Superior (command responsibility)" in page
    assert '<option value="superior">' in form  # the roles offered on the form
    # found again by Hangul and by a Latin spelling of the name
    for query in ("최시희", "Choe Si-hui"):
        hits = client.get("/api/search", params={"q": query}).json()["hits"]
        assert {a["id"] for a in acts} <= {h["id"] for h in hits if h["kind"] == "act"}, query


def test_a_bad_value_is_named_and_what_was_typed_is_kept(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    before = client.get("/api/stats").json()["totals"]["acts"]
    answer = client.post(
        "/testimonies/new",
        data=_entry(
            csrf_of(client),
            **{
                "event-0-event_title": "잘못된 입력",
                "act-0-0-act_type": "flying without a licence",
                "act-0-0-act_date": "the 13th of Smarch",
                "act-0-0-victim_name": "Typed <Name>",
            },
        ),
    )
    assert answer.status_code == 422
    page = answer.text
    assert 'id="act-0-0-act_type"' in page and 'value="flying without a licence"' in page
    assert 'value="the 13th of Smarch"' in page and 'value="Typed &lt;Name&gt;"' in page
    assert re.search(r'id="act-0-0-act_date"[^>]*aria-invalid="true"', page)
    assert 'id="act-0-0-act_date-error"' in page and "Smarch" in page
    assert client.get("/api/stats").json()["totals"]["acts"] == before


def test_without_javascript_a_button_adds_an_act(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    answer = client.post(
        "/testimonies/new",
        data=_entry(csrf_of(client), add="act-0", **{"act-0-0-act_type": "고문"}),
    )
    assert answer.status_code == 200
    assert 'name="act-0-1-act_type"' in answer.text
    assert 'value="고문"' in answer.text
    more = client.post("/testimonies/new", data=_entry(csrf_of(client), add="event"))
    assert 'name="event-1-event_title"' in more.text


def test_import_shows_the_report_before_writing(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    token = csrf_of(client)
    header = ",".join(YODOK[0])
    good = row(source_ref="IMP-1", act_type="torture", act_date="2001", place="혜산")
    bad = row(source_ref="IMP-1", act_type="alien abduction", act_date="2001")
    new_place = row(source_ref="IMP-1", act_type="execution", place="Testville")
    body = "\n".join([header, *(",".join(r.values()) for r in (good, bad, new_place))]) + "\n"
    before = client.get("/api/stats").json()["totals"]["acts"]
    report = client.post(
        "/import",
        data={"csrf_token": token},
        files={"file": ("acts.csv", body.encode(), "text/csv")},
    )
    assert report.status_code == 200
    assert "alien abduction" in report.text and "<td>3</td>" in report.text  # row 3, CSV header 1
    assert "Testville" in report.text
    assert client.get("/api/stats").json()["totals"]["acts"] == before  # nothing written yet
    import_id = re.search(r'name="import_id" value="([^"]+)"', report.text)
    assert import_id
    done = client.post("/import/commit", data={"csrf_token": token, "import_id": import_id[1]})
    assert done.status_code == 200 and 'class="report-ok"' in done.text
    assert client.get("/api/stats").json()["totals"]["acts"] == before + 2
    again = client.post("/import/commit", data={"csrf_token": token, "import_id": import_id[1]})
    assert again.status_code == 404  # a report is committed once
    wrong = client.post(
        "/import", data={"csrf_token": token}, files={"file": ("acts.pdf", b"%PDF", "a/b")}
    )
    assert wrong.status_code == 422 and "acts.pdf" in wrong.text


def test_statements_are_written_translated_published_and_versioned(site: Site) -> None:  # noqa: F811
    client = login(site.app, "coordinator")
    token = csrf_of(client)
    bad = client.post(
        "/statements/new",
        data={"csrf_token": token, "title": "Kept title", "body": "", "language": "en"},
    )
    assert bad.status_code == 422 and 'value="Kept title"' in bad.text
    created = client.post(
        "/statements/new",
        data={
            "csrf_token": token,
            "title": "On the Hoeryong camp",
            "body": "We, the undersigned...",
            "language": "en",
            "kind": "statement",
            "date": "2023년 5월",
            "signatories": "Test Alliance for Rights\n새시험단체",
            "events": str(site.ids["event_internal"]),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    statement_id = int(created.headers["location"].rsplit("/", 1)[1])
    staff = client.get(f"/statements/{statement_id}").text
    assert "새시험단체" in staff and "2023-05" in staff
    visitor = login(site.app, None)
    assert visitor.get(f"/news/{statement_id}").status_code == 404
    client.post(f"/statements/{statement_id}/publish", data={"csrf_token": token})
    public = visitor.get(f"/news/{statement_id}")
    assert public.status_code == 200 and "On the Hoeryong camp" in public.text
    assert 'class="breadcrumb"' in public.text and "2023-05" in public.text
    assert 'rel="prev"' in public.text  # older published items exist
    translated = client.post(
        f"/statements/{statement_id}/translate",
        data={
            "csrf_token": token,
            "language": "ko",
            "title": "회령 수용소에 관하여",
            "body": "우리는",
        },
        follow_redirects=False,
    )
    korean_id = int(translated.headers["location"].rsplit("/", 1)[1])
    client.post(f"/statements/{korean_id}/publish", data={"csrf_token": token})
    assert f'href="/news/{korean_id}"' in visitor.get(f"/news/{statement_id}").text
    client.post(
        f"/statements/{statement_id}/edit",
        data={
            "csrf_token": token,
            "title": "On the Hoeryong camp (corrected)",
            "body": "We, the undersigned...",
            "kind": "statement",
            "date": "2023-05",
            "signatories": "Test Alliance for Rights",
            "events": "",
        },
    )
    history = client.get(f"/api/statements/{statement_id}/history").json()["versions"]
    assert [v["data"]["title"] for v in history][-2:] == [
        "On the Hoeryong camp",
        "On the Hoeryong camp (corrected)",
    ]
    assert "title" in history[-1]["changed"]


def test_api_tokens_and_json_twins(site: Site) -> None:  # noqa: F811
    api = TestClient(site.app, raise_server_exceptions=False)
    refused = api.post("/api/tokens", json={"username": "documenter", "passphrase": "nope"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    answer = api.post(
        "/api/tokens", json={"username": "documenter", "passphrase": password("documenter")}
    )
    assert answer.status_code == 201
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert api.get("/api/me", headers=headers).json() == {
        "username": "documenter",
        "role": "documenter",
    }
    testimony = {
        "source": {"source_type": "testimony", "source_date": "2019", "sharing": "internal"},
        "events": [
            {
                "event_title": "API event",
                "acts": [
                    {"act_type": "torture", "victim_name": "Api Person", "act_date": "2018"},
                    {"act_type": "no such type", "act_date": "never"},
                ],
            }
        ],
    }
    bad = api.post("/api/testimonies", json=testimony, headers=headers)
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"act-0-1-act_type", "act-0-1-act_date"}
    testimony["events"][0]["acts"].pop()  # type: ignore[index]
    good = api.post("/api/testimonies", json=testimony, headers=headers)
    assert good.status_code == 201 and good.json()["created"]["act"] == 1
    csv = b"source_ref,act_type,act_date\nAPI-2,torture,2004\nAPI-2,bogus,2004\n"
    report = api.post("/api/imports?format=csv", content=csv, headers=headers)
    assert report.status_code == 200 and report.json()["invalid_rows"] == 1
    refused_commit = api.post("/api/imports?format=csv&commit=true", content=csv, headers=headers)
    assert refused_commit.status_code == 422
    committed = api.post(f"/api/imports/{report.json()['id']}/commit", headers=headers)
    assert committed.status_code == 201 and committed.json()["created"]["act"] == 1
    assert api.delete("/api/tokens/current", headers=headers).status_code == 204
    assert api.get("/api/me", headers=headers).status_code == 401


def test_a_passphrase_change_ends_every_session_of_the_user(site: Site) -> None:  # noqa: F811
    first, second = login(site.app, "analyst"), login(site.app, "analyst")
    token = csrf_of(first, "/account")
    mismatch = first.post(
        "/account/passphrase",
        data={
            "csrf_token": token,
            "current_passphrase": password("analyst"),
            "new_passphrase": "a new long passphrase",
            "repeat": "something else entirely",
        },
    )
    assert mismatch.status_code == 422
    wrong = first.post(
        "/account/passphrase",
        data={
            "csrf_token": token,
            "current_passphrase": "not it at all",
            "new_passphrase": "a new long passphrase",
            "repeat": "a new long passphrase",
        },
    )
    assert wrong.status_code == 422
    changed = first.post(
        "/account/passphrase",
        data={
            "csrf_token": token,
            "current_passphrase": password("analyst"),
            "new_passphrase": "a new long passphrase",
            "repeat": "a new long passphrase",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303 and changed.headers["location"] == "/login?changed=1"
    for client in (first, second):
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
    fresh = TestClient(site.app)
    token = csrf_of(fresh, "/login")
    old = fresh.post(
        "/login",
        data={"username": "analyst", "passphrase": password("analyst"), "csrf_token": token},
    )
    assert old.status_code == 401
    new = fresh.post(
        "/login",
        data={"username": "analyst", "passphrase": "a new long passphrase", "csrf_token": token},
        follow_redirects=False,
    )
    assert new.status_code == 303


def test_a_second_factor_is_asked_once_turned_on(site: Site) -> None:  # noqa: F811
    client = login(site.app, "reviewer")
    token = csrf_of(client, "/account")
    started = client.post("/account/totp/start", data={"csrf_token": token})
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', started.text)
    assert secret
    refused = client.post("/account/totp/confirm", data={"csrf_token": token, "code": "000000"})
    assert refused.status_code == 422
    totp = pyotp.TOTP(secret[1])
    on = client.post("/account/totp/confirm", data={"csrf_token": token, "code": totp.now()})
    assert on.status_code == 200 and "totp-secret" not in on.text
    assert secret[1] not in (site.folder / "web-totp.json").read_text()  # sealed on disk

    visitor = TestClient(site.app)
    token = csrf_of(visitor, "/login")
    form = {"username": "reviewer", "passphrase": password("reviewer"), "csrf_token": token}
    assert visitor.post("/login", data=form).status_code == 401  # no code
    assert visitor.post("/login", data={**form, "code": "123456"}).status_code == 401
    previous = totp.at(time.time() - 30)
    answer = visitor.post("/login", data={**form, "code": previous}, follow_redirects=False)
    # the code just used to turn it on, or the one before it, is not accepted again
    assert answer.status_code == 401
    future = totp.at(time.time() + 30)
    good = visitor.post("/login", data={**form, "code": future}, follow_redirects=False)
    assert good.status_code == 303
    token = csrf_of(visitor, "/account")
    # the session alone does not turn it off (the passphrase and a code do:
    # tests/security/test_web_totp.py)
    kept = visitor.post("/account/totp/remove", data={"csrf_token": token})
    assert kept.status_code == 422 and site.app.state.web.totp.enrolled("reviewer")
    site.app.state.web.totp.remove("reviewer")  # the other tests log in without a code
    assert login(site.app, "reviewer").get("/dashboard").status_code == 200


def test_the_entry_form_asks_every_column_of_the_flat_acts_format() -> None:
    from sillok.records.flatacts import COLUMNS
    from sillok.web.testimony import ACT_FIELDS, EVENT_FIELDS, SOURCE_FIELDS

    assert set(SOURCE_FIELDS) | set(EVENT_FIELDS) | set(ACT_FIELDS) == set(COLUMNS)
    assert "sharing" in ACT_FIELDS and "act_type" in ACT_FIELDS
