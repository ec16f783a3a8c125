"""Issue 12, finding 5: the publishing right is checked on the thing changed.

A documenter writes statements but may not publish them. Changing a published statement
changes what the public reads at once, and changing a withdrawn one changes what the public
read, so both need the publish right (``statement.publish``), on every way in: the library
(``archive.statements``), the HTTP API and the pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sillok.archive import Archive
from sillok.errors import InvalidInput
from sillok.records.statements import Statement, Statements
from sillok.security.policy import ROLES, may
from tests.conftest import FAST
from tests.test_web_app import Site, build_site, csrf_of, login, password

STATES = ("draft", "published", "withdrawn")
CHANGED = "QXCHANGEDQX"
#: action -> (method, path, JSON body); {id} is the statement's id
ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "edit": ("PATCH", "/api/statements/{id}", {"title": CHANGED, "body": CHANGED}),
    "signatories": ("PATCH", "/api/statements/{id}", {"signatories": [f"{CHANGED} Org"]}),
    "events": ("PATCH", "/api/statements/{id}", {"events": ["EVENT"]}),
    "publish": ("POST", "/api/statements/{id}/publish", None),
    "withdraw": ("POST", "/api/statements/{id}/withdraw", None),
    "translate": (
        "POST",
        "/api/statements/{id}/translations",
        {"language": "ko", "title": "번역", "body": "번역문"},
    ),
}


def expected(role: str | None, action: str, state: str) -> int:
    """The status the API must answer: the policy applied to the statement's state."""
    if role is None:
        return 401
    if not may(role, "statement.write"):
        return 403
    publisher = may(role, "statement.publish")
    if action in ("publish", "withdraw"):
        return 200 if publisher else 403
    if action == "translate":
        return 201  # a new draft of its own: the public item does not change
    return 200 if state == "draft" or publisher else 403


def _fresh(statements: Statements, state: str) -> Statement:
    item = statements.write(f"A {state} item", "Its text.", "en", "news", "2024-05-01")
    if state != "draft":
        statements.publish(item.id)
    if state == "withdrawn":
        statements.withdraw(item.id)
    return statements.get(item.id)


def _same(before: Statement, after: Statement) -> bool:
    return (before.version, before.title, before.body, before.published, before.signatories,
            before.events) == (after.version, after.title, after.body, after.published,
                               after.signatories, after.events)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own (every case writes a statement)."""
    built = build_site(tmp_path_factory.mktemp("publishing") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def test_role_action_state_table_through_the_api(site: Site) -> None:
    client = TestClient(site.app, raise_server_exceptions=False)
    tokens: dict[str | None, dict[str, str]] = {None: {}}
    for name in ROLES:
        answer = client.post("/api/tokens", json={"username": name, "passphrase": password(name)})
        assert answer.status_code == 201, name
        tokens[name] = {"Authorization": f"Bearer {answer.json()['token']}"}
    statements = site.app.state.web.archive.statements
    wrong = []
    roles: tuple[str | None, ...] = (*ROLES, None)
    for role in roles:
        for action, (method, path, body) in ACTIONS.items():
            for state in STATES:
                item = _fresh(statements, state)
                if body is not None and body.get("events") == ["EVENT"]:
                    body = {"events": [site.ids["event_public"]]}
                answer = client.request(
                    method, path.format(id=item.id), json=body, headers=tokens[role]
                )
                want = expected(role, action, state)
                if answer.status_code != want:
                    wrong.append((role, action, state, answer.status_code, want))
                elif want >= 400:
                    # refused: nothing changed, and the error has the API's shape
                    assert _same(item, statements.get(item.id)), (role, action, state)
                    assert set(answer.json()["error"]) >= {"code", "message"}
    assert not wrong, wrong


def test_the_public_never_sees_a_documenters_change(site: Site) -> None:
    statements = site.app.state.web.archive.statements
    item = _fresh(statements, "published")
    documenter = TestClient(site.app, raise_server_exceptions=False)
    token = documenter.post(
        "/api/tokens", json={"username": "documenter", "passphrase": password("documenter")}
    ).json()["token"]
    answer = documenter.patch(
        f"/api/statements/{item.id}",
        json={"body": CHANGED},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    visitor = login(site.app, None)
    assert CHANGED not in visitor.get(f"/news/{item.id}").text
    assert CHANGED not in visitor.get("/api/statements").text
    # the page form is refused the same way, and a draft stays the documenter's to edit
    page = login(site.app, "documenter")
    form = {"title": "T", "body": CHANGED, "kind": "news", "csrf_token": csrf_of(page)}
    refused = page.post(f"/statements/{item.id}/edit", data=form, follow_redirects=False)
    assert refused.status_code == 403
    assert CHANGED not in visitor.get(f"/news/{item.id}").text
    draft = _fresh(statements, "draft")
    saved = page.post(f"/statements/{draft.id}/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert statements.get(draft.id).body == CHANGED


@pytest.fixture
def documenter_archive(tmp_path: Path) -> Iterator[tuple[Archive, Archive]]:
    """An admin's and a documenter's archive on one folder."""
    folder = tmp_path / "archive"
    admin = Archive.create(folder, "owner passphrase 1", settings=FAST)
    admin.users.add("doc", "documenter", password("documenter"))
    doc = Archive.open(folder, password("documenter"), FAST, user="doc")
    try:
        yield admin, doc
    finally:
        doc.close()
        admin.close()


def test_the_library_holds_for_every_way_in(documenter_archive: tuple[Archive, Archive]) -> None:
    admin, doc = documenter_archive
    for state in STATES:
        item = _fresh(admin.statements, state)
        changes = [
            lambda i=item: doc.statements.edit(i.id, body=CHANGED),
            lambda i=item: doc.statements.set_signatories(i.id, [f"{CHANGED} Org"]),
            lambda i=item: doc.statements.publish(i.id),
            lambda i=item: doc.statements.withdraw(i.id),
        ]
        for number, change in enumerate(changes):
            allowed = state == "draft" and number < 2
            if allowed:
                change()
            else:
                with pytest.raises(InvalidInput, match="statement.publish"):
                    change()
                assert _same(item, admin.statements.get(item.id)), (state, number)
            item = admin.statements.get(item.id)
    # an administrator (the publish right) may change what is published
    published = _fresh(admin.statements, "published")
    assert admin.statements.edit(published.id, body="Corrected.").body == "Corrected."
