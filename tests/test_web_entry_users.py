"""Small things that mislead on the testimony and users pages: Enter in a field adds an act,
a save says nothing, Remove removes at once, a new user starts as an administrator."""

from __future__ import annotations

import re

from tests.test_web_app import Site, csrf_of, login, site  # noqa: F401  (fixture)

NEW_PASSPHRASE = "a passphrase for someone to remove 4"


def _acts(page: str) -> int:
    return len(re.findall(r'<fieldset class="act" id="act-0-\d+"', page))


def test_enter_in_a_field_neither_adds_an_act_nor_saves(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    form = client.get("/testimonies/new").text
    # Enter in a field presses the form's first submit button: it must be the harmless one
    entry = form[form.index('<form method="post" action="/testimonies/new"') :]
    first = re.search(r"<button [^>]*>", entry)
    assert first and 'name="stay"' in first[0], first
    before = site.app.state.web.archive.store.state_mark()
    typed = {
        "csrf_token": csrf_of(client, "/testimonies/new"),
        "event-0-event_title": "엔터 키",
        "act-0-0-act_type": "고문",
        "act-0-0-place": "청진",
        "stay": "1",
    }
    answer = client.post("/testimonies/new", data=typed)
    assert answer.status_code == 200
    assert _acts(answer.text) == 1  # no empty act added
    assert 'value="청진"' in answer.text  # what was typed is kept
    assert site.app.state.web.archive.store.state_mark() == before  # nothing saved


def test_a_saved_testimony_says_so(site: Site) -> None:  # noqa: F811
    client = login(site.app, "documenter")
    answer = client.post(
        "/testimonies/new",
        data={
            "csrf_token": csrf_of(client, "/testimonies/new"),
            "event-0-event_title": "저장 확인",
            "act-0-0-act_type": "고문",
            "act-0-0-act_date": "2012",
            "act-0-1-act_type": "arbitrary detention",
            "save": "1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert re.fullmatch(r"/records/source/\d+\?saved=1", location), location
    client.cookies.set("sillok_lang", "en")
    page = client.get(location).text
    assert re.search(r'role="status"[^>]*>Testimony saved: this source and its 2 acts', page)
    client.cookies.set("sillok_lang", "ko")
    assert "증언을 저장했습니다. 이 출처와 행위 2건이" in client.get(location).text
    # the record page on its own says nothing of the kind
    assert 'id="saved"' not in client.get(location.split("?")[0]).text


def test_removing_a_user_asks_first(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "en")
    token = csrf_of(admin, "/users")
    added = admin.post(
        "/users",
        data={
            "csrf_token": token,
            "name": "tempviewer",
            "role": "viewer",
            "passphrase": NEW_PASSPHRASE,
            "repeat": NEW_PASSPHRASE,
        },
    )
    assert added.status_code == 200
    users = site.app.state.web.archive.users
    asked = admin.post("/users/tempviewer/remove", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "Remove tempviewer?" in asked.text
    assert re.search(r'name="confirmed" value="yes"', asked.text)
    assert "removed" not in asked.text
    assert {u["name"]: u["active"] for u in users.list()}["tempviewer"] is True  # still there
    done = admin.post(
        "/users/tempviewer/remove", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert done.status_code == 200 and "User tempviewer removed." in done.text
    assert {u["name"]: u["active"] for u in users.list()}["tempviewer"] is False


def test_a_new_user_starts_with_the_least_role(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    page = admin.get("/users").text
    select = re.search(r'<select id="role" name="role">(.*?)</select>', page, re.S)
    assert select
    chosen = re.findall(r'<option value="(\w+)" selected>', select[1])
    assert chosen == ["viewer"]
    # a refused form keeps the role that was chosen
    token = csrf_of(admin, "/users")
    again = admin.post(
        "/users",
        data={"csrf_token": token, "name": "x9", "role": "analyst", "passphrase": "a",
              "repeat": "b"},
    ).text
    kept = re.search(r'<select id="role" name="role">(.*?)</select>', again, re.S)
    assert kept and re.findall(r'<option value="(\w+)" selected>', kept[1]) == ["analyst"]
