"""The users page: only an administrator sees it; adding a user who can then log in, removing
one (their sessions end), and bad input named without adding anyone."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_web_app import CSRF, Site, csrf_of, login, site  # noqa: F401  (fixture)

NEW_PASSPHRASE = "a new user's passphrase"


def _login_as(site: Site, name: str, passphrase: str) -> tuple[TestClient, int]:  # noqa: F811
    client = TestClient(site.app, raise_server_exceptions=False)
    token = CSRF.search(client.get("/login").text)
    assert token
    answer = client.post(
        "/login",
        data={"username": name, "passphrase": passphrase, "csrf_token": token[1]},
        follow_redirects=False,
    )
    return client, answer.status_code


def test_only_an_administrator_sees_the_users(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    page = admin.get("/users")
    assert page.status_code == 200
    for role in ("admin", "viewer", "documenter"):
        assert f'id="user-{role}"' in page.text
    assert 'href="/users"' in page.text  # in the navigation
    for role in ("documenter", "coordinator", "viewer"):
        client = login(site.app, role)
        assert client.get("/users").status_code == 403
        assert 'href="/users"' not in client.get("/search").text
    assert login(site.app, None).get("/users", follow_redirects=False).status_code in (303, 401)


def test_add_a_user_who_logs_in_then_remove_them(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "en")
    answer = admin.post("/users", data={
        "name": "newbie", "role": "analyst", "passphrase": NEW_PASSPHRASE,
        "repeat": NEW_PASSPHRASE, "csrf_token": csrf_of(admin, "/users"),
    })
    assert answer.status_code == 200 and "User newbie added." in answer.text
    newbie, status = _login_as(site, "newbie", NEW_PASSPHRASE)
    assert status == 303
    assert newbie.get("/search").status_code == 200
    assert site.app.state.web.archive.users.get("newbie").role == "analyst"

    answer = admin.post(
        "/users/newbie/remove", data={"csrf_token": csrf_of(admin, "/users"), "confirmed": "yes"}
    )
    assert answer.status_code == 200 and "User newbie removed." in answer.text
    # the open session ends, and the passphrase no longer opens the archive
    assert newbie.get("/search", follow_redirects=False).status_code in (303, 401)
    assert _login_as(site, "newbie", NEW_PASSPHRASE)[1] != 303


def test_bad_input_is_named_and_adds_no_one(site: Site) -> None:  # noqa: F811
    admin = login(site.app, "admin")
    admin.cookies.set("sillok_lang", "en")
    before = site.app.state.web.archive.users.list()
    cases = [
        ({"name": "x1", "role": "viewer", "passphrase": NEW_PASSPHRASE, "repeat": "other one!"},
         "The two passphrases differ."),
        ({"name": "x2", "role": "emperor", "passphrase": NEW_PASSPHRASE,
          "repeat": NEW_PASSPHRASE}, "emperor"),
        ({"name": "x3", "role": "viewer", "passphrase": "short", "repeat": "short"},
         "passphrase"),
    ]
    for data, named in cases:
        answer = admin.post("/users", data={**data, "csrf_token": csrf_of(admin, "/users")})
        assert answer.status_code == 422, data
        assert named in answer.text, data
        assert f'value="{data["name"]}"' in answer.text  # what was typed is kept
    assert site.app.state.web.archive.users.list() == before
    # no CSRF token: refused; oneself: refused
    assert admin.post("/users/viewer/remove").status_code == 403
    answer = admin.post("/users/admin/remove", data={"csrf_token": csrf_of(admin, "/users")})
    assert answer.status_code == 422 and "You cannot remove yourself." in answer.text
    assert site.app.state.web.archive.users.list() == before
