"""Issue 12, "Every right checked on the thing changed": role x action x state for records,
links and users, through the library and through the HTTP API (statements have their own
table in ``test_web_publishing.py``; which pages each role may open, ``tests/test_web_matrix.py``).

The attacker is a user of each role, holding their own passphrase, who calls the library
directly (a script: ``Archive.open`` and the services) or the API with their token, and tries
every change on records of every state: a record at each sharing level, a link pending,
accepted or rejected, a user active or removed. The expected answer is written out from the
policy's actions (docs/security.md, "The access policy"): allowed, the change is made; refused,
a named error (403 on the API) and nothing changed. Before issue 12's last part, the library's
importer and link decisions checked no right at all: a viewer's script could rewrite an act or
accept a link, though the web refused both.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sillok.archive import Archive
from sillok.custody.backup import COUNTED
from sillok.errors import InvalidInput, NotFound
from sillok.ledger.entries import LOGGED_TABLES
from sillok.security.policy import ROLES, may
from sillok.store import rows as store_rows
from sillok.store.meta import row_counts
from tests.datasets import YODOK, write_csv
from tests.security.conftest import opened_as, passphrase_of
from tests.test_web_app import Site, build_site, csrf_of, login, password

SHARING = ("public", "internal", "confidential")
LINK_STATES = ("pending", "accepted", "rejected")
VERDICTS = {"accept": "accepted", "reject": "rejected", "undo": "pending"}
USER_STATES = ("active", "removed")
#: the YODOK row of the act at each sharing level
ROW_OF = {r["sharing"]: r for r in YODOK}
counter = itertools.count()


def snapshot(archive: Archive) -> dict[str, Any]:
    """What a refused change must leave as it was: the rows of every logged table but the
    audit trail and users, and every record's version and a link's status."""
    with archive.store.reading() as conn:
        counts = row_counts(conn, LOGGED_TABLES)
        versions = {
            table: sorted(conn.execute(text(f"SELECT id, version FROM {table}")).all())
            for table in ("acts", "persons", "sources", "events", "links")
        }
        statuses = sorted(conn.execute(text("SELECT id, status FROM links")).all())
    return {**{t: counts[t] for t in COUNTED}, **versions, "link status": statuses}


def act_of(archive: Archive, sharing: str) -> dict[str, Any]:
    with archive.store.reading() as conn:
        found = conn.execute(
            text("SELECT id, victim_id FROM acts WHERE sharing = :s ORDER BY id"), {"s": sharing}
        ).first()
    assert found is not None, sharing
    return {"id": int(found.id), "victim_id": int(found.victim_id)}


def add_link(archive: Archive) -> int:
    """A candidate pair of the two first persons, as ``links find`` queues one."""
    with archive.store.transaction() as conn:
        persons = conn.execute(text("SELECT id FROM persons ORDER BY id LIMIT 2"))
        left, right = (int(r[0]) for r in persons)
        ref = f"link:person:{left}:{right}"
        values = {ref: {"record_kind": "person", "left_id": left, "right_id": right,
                        "probability_ppm": 900_000, "evidence": "[]", "status": "pending"}}
        result = store_rows.upsert_by_ref(
            conn, archive.store.dialect, "link", values, archive.vault.settings.actor
        )
    return result.ids[ref]


def changed_row(sharing: str, by: str) -> dict[str, str]:
    """The act of that sharing level, with a new description: a new version of it."""
    return dict(ROW_OF[sharing], description=f"Changed by {by} {next(counter)}")


def outcome(change: Callable[[], object]) -> str:
    """done, refused (the role lacks the right) or invalid (another named error)."""
    try:
        change()
    except InvalidInput as exc:
        return "refused" if "may not" in str(exc) or "role" in str(exc) else f"invalid: {exc}"
    except NotFound as exc:
        return f"invalid: {exc}"
    return "done"


# --- the library ------------------------------------------------------------------------------


@pytest.fixture
def yodok_linked(archive: Archive, tmp_path: Path) -> Archive:
    archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    add_link(archive)
    return archive


def _evidence(scratch: Path, act: dict[str, Any]) -> Path:
    path = scratch / f"evidence-{next(counter)}.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + path.name.encode())
    return path


#: action -> (the right it needs, the change made with the library on an act's records)
RECORD_ACTIONS: dict[str, tuple[str, Callable[[Archive, dict[str, Any], Path], object]]] = {
    "import a new version": ("import", lambda other, act, scratch: other.ingest.run(
        write_csv(scratch / f"{next(counter)}.csv", [changed_row(act["sharing"], "qx")]))),
    "attach evidence": ("attachment.add", lambda other, act, scratch: other.attachments.attach(
        "act", act["id"], _evidence(scratch, act))),
    "protect the victim": ("write", lambda other, act, _scratch: other.protection.protect(
        act["victim_id"])),
    "add a contact": ("write", lambda other, act, _scratch: other.protection.add_contact(
        act["victim_id"], "phone", "+82 10 0000 0000")),
}


@pytest.mark.parametrize("role", ROLES)
def test_records_role_action_sharing_through_the_library(
    yodok_linked: Archive, tmp_path: Path, role: str
) -> None:
    archive, wrong = yodok_linked, []
    with opened_as(archive, role) as other:
        for sharing, (name, (right, change)) in itertools.product(SHARING, RECORD_ACTIONS.items()):
            act = {**act_of(archive, sharing), "sharing": sharing}
            before = snapshot(archive)
            got = outcome(functools.partial(change, other, act, tmp_path))
            want = "done" if may(role, right) else "refused"
            if got != want:
                wrong.append((name, sharing, got, want))
            elif got == "refused" and snapshot(archive) != before:
                wrong.append((name, sharing, "refused, but the archive changed", want))
    assert not wrong, f"{role}: {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_links_role_verdict_state_through_the_library(yodok_linked: Archive, role: str) -> None:
    archive, wrong = yodok_linked, []
    link = archive.links.queue("pending", kind="persons")[0].id
    with opened_as(archive, role) as other:
        for state, verdict in itertools.product(LINK_STATES, VERDICTS):
            archive.links.decide(link, {v: k for k, v in VERDICTS.items()}[state])
            before = snapshot(archive)
            got = outcome(functools.partial(other.links.decide, link, verdict))
            want = "done" if may(role, "review") else "refused"
            if got != want:
                wrong.append((state, verdict, got, want))
            elif got == "refused" and snapshot(archive) != before:
                wrong.append((state, verdict, "refused, but the link changed", want))
            elif got == "done":
                assert archive.links.queue(VERDICTS[verdict], kind="persons")[0].id == link
    assert not wrong, f"{role}: {wrong}"


#: (action, state of the target) -> what an administrator gets (others: refused)
ADMIN_USERS = {
    ("add", "active"): "invalid",  # already a user
    ("add", "removed"): "done",  # brought back
    ("remove", "active"): "done",
    ("remove", "removed"): "invalid",  # no such user
}


@pytest.mark.parametrize("role", ROLES)
def test_users_role_action_state_through_the_library(archive: Archive, role: str) -> None:
    wrong: list[tuple[Any, ...]] = []
    with opened_as(archive, role) as other:
        for (action, state), admin_gets in ADMIN_USERS.items():
            target = f"qx{next(counter)}"
            archive.users.add(target, "viewer", passphrase_of(target))
            if state == "removed":
                archive.users.remove(target)
            before = {u["name"]: (u["role"], u["active"]) for u in archive.users.list()}
            change = {
                "add": lambda t=target: other.users.add(t, "analyst", passphrase_of(t)),
                "remove": lambda t=target: other.users.remove(t),
            }[action]
            got = outcome(change).partition(":")[0]
            want = admin_gets if may(role, "users") else "refused"
            after = {u["name"]: (u["role"], u["active"]) for u in archive.users.list()}
            if got != want:
                wrong.append((action, state, got, want))
            elif got != "done" and after != before:
                wrong.append((action, state, "refused, but the users changed", want))
    assert not wrong, f"{role}: {wrong}"


# --- the HTTP API -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own (every case writes), with one candidate link."""
    built = build_site(tmp_path_factory.mktemp("rights") / "archive")
    built.ids["link"] = add_link(built.app.state.web.archive)
    try:
        yield built
    finally:
        built.app.state.web.close()


@pytest.fixture(scope="module")
def tokens(site: Site) -> dict[str | None, dict[str, str]]:
    client = TestClient(site.app)
    found: dict[str | None, dict[str, str]] = {None: {}}
    for role in ROLES:
        answer = client.post("/api/tokens", json={"username": role, "passphrase": password(role)})
        found[role] = {"Authorization": f"Bearer {answer.json()['token']}"}
    return found


def _status(want_done: int, role: str | None, right: str) -> int:
    if role is None:
        return 401
    return want_done if may(role, right) else 403


@pytest.mark.parametrize("role", [*ROLES, None])
def test_records_and_links_role_action_state_through_the_api(
    site: Site, tokens: dict[str | None, dict[str, str]], role: str | None
) -> None:
    server: Archive = site.app.state.web.archive
    api = TestClient(site.app, raise_server_exceptions=False)
    api.headers.update(tokens[role])
    wrong: list[tuple[Any, ...]] = []

    def check(what: tuple[str, ...], answer: Any, want: int, before: dict[str, Any]) -> None:
        if answer.status_code != want:
            wrong.append((*what, answer.status_code, want))
        elif want >= 400 and snapshot(server) != before:
            wrong.append((*what, "refused, but the archive changed"))

    for sharing in SHARING:
        act = act_of(server, sharing)
        csv = write_csv(Path(site.folder.parent / f"{sharing}.csv"),
                        [changed_row(sharing, str(role))]).read_bytes()
        before = snapshot(server)
        answer = api.post("/api/imports?format=csv&commit=true", content=csv)
        check(("import", sharing), answer, _status(201, role, "import"), before)
        before = snapshot(server)
        answer = api.post(f"/api/records/act/{act['id']}/attachments?filename=e.jpg",
                          content=b"\xff\xd8\xff\xe0" + f"{role}{sharing}".encode())
        check(("attach", sharing), answer, _status(201, role, "attachment.add"), before)
    link = site.ids["link"]
    for state, verdict in itertools.product(LINK_STATES, VERDICTS):
        server.links.decide(link, {v: k for k, v in VERDICTS.items()}[state])
        before = snapshot(server)
        answer = api.post(f"/api/links/{link}", json={"verdict": verdict})
        check(("link", state, verdict), answer, _status(200, role, "review"), before)
    assert not wrong, f"{role}: {wrong}"


@pytest.mark.parametrize("role", ROLES)
def test_users_role_action_state_through_the_pages(site: Site, role: str) -> None:
    """Users have no API: the pages' forms are the web's way in."""
    server: Archive = site.app.state.web.archive
    client = login(site.app, role)
    wrong: list[tuple[Any, ...]] = []
    for (action, state), admin_gets in ADMIN_USERS.items():
        target = f"qxw{next(counter)}"
        server.users.add(target, "viewer", passphrase_of(target))
        if state == "removed":
            server.users.remove(target)
        before = {u["name"]: (u["role"], u["active"]) for u in server.users.list()}
        token = csrf_of(client, "/dashboard")
        if action == "add":
            form = {"name": target, "role": "analyst", "passphrase": passphrase_of(target),
                    "repeat": passphrase_of(target), "csrf_token": token}
            answer = client.post("/users", data=form)
        else:
            answer = client.post(f"/users/{target}/remove", data={"csrf_token": token})
        invalid = 404 if action == "remove" else 422  # no such user; already a user
        want = {"done": 200, "invalid": invalid}[admin_gets] if may(role, "users") else 403
        after = {u["name"]: (u["role"], u["active"]) for u in server.users.list()}
        if answer.status_code != want:
            wrong.append((action, state, answer.status_code, want))
        elif want != 200 and after != before:
            wrong.append((action, state, "refused, but the users changed"))
    assert not wrong, f"{role}: {wrong}"
