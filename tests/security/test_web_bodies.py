"""Issue 12, findings 8 and 9: authentication before bodies, bounds while they stream, and
uploads only in the archive's private folder.

The large bodies here are generators handed to the application as a server would hand them
(a chunk per ``receive``), so each test can count how much of a body was read before the
answer: a body from nobody logged in is not read at all (but a login form's few KB), and
every other body stops being read just past its bound.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sillok.records.flatacts import COLUMNS
from sillok.web import WebSettings, create_app
from sillok.web.evidence import WORK_FOLDER, discard
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import row
from tests.test_web_app import Site, build_site, csrf_of, login, password

CHUNK = 64 * 1024
#: how much each endless body offers at most (a server would go on; the test must end)
OFFERED = 24 * 1024 * 1024
BOUNDARY = "sillokboundary"
SMALL = 1024 * 1024  # the bounds of the site with small limits


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own, and beside it an app on the same folder with small limits."""
    built = build_site(tmp_path_factory.mktemp("bodies") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


@pytest.fixture(scope="module")
def small(site: Site) -> Iterator[FastAPI]:
    """The site's archive served with bounds of 1 MiB (imports, evidence) and 256 KiB."""
    app = create_app(
        site.folder,
        WebSettings(
            passphrase=PASSPHRASE,
            archive=FAST,
            max_upload_bytes=SMALL,
            max_evidence_bytes=SMALL,
            max_body_bytes=SMALL // 4,
        ),
    )
    try:
        yield app
    finally:
        app.state.web.close()


def _multipart_head(fields: dict[str, str], filename: str = "big.csv") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return "".join(parts).encode()


def send(
    app: FastAPI,
    method: str,
    path: str,
    head: bytes = b"",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> tuple[int, int, bytes]:
    """Offer ``head`` then an endless body (``OFFERED`` bytes at most) to the application, a
    chunk per ``receive``, without a Content-Length; (status, bytes read, answer body)."""
    offered = [head] if head else []
    offered += [b"x" * CHUNK] * ((OFFERED - len(head)) // CHUNK)
    read = 0
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> MutableMapping[str, Any]:
        nonlocal read
        if offered:
            chunk = offered.pop(0)
            read += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}
        await asyncio.sleep(3600)  # the body never ends; the answer must come before
        return {"type": "http.disconnect"}

    async def send_(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        + [(b"host", b"testserver"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def run() -> None:
        await asyncio.wait_for(app(scope, receive, send_), timeout=60)

    asyncio.run(run())
    return answer["status"], read, answer["body"]


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
JSON = {"content-type": "application/json"}


def test_nobody_logged_in_sends_no_body_but_a_small_login_form(site: Site) -> None:
    app = site.app
    act = site.ids["act_internal"]
    # the login form: read no further than a few KB
    status, read, _ = send(app, "POST", "/login", _multipart_head({"username": "x"}), MULTIPART)
    assert status == 413 and read <= 8 * 1024 + CHUNK
    status, read, _ = send(app, "POST", "/api/tokens", b'{"username": "', JSON)
    assert status == 413 and read <= 8 * 1024 + CHUNK
    # everything else: not a byte, whatever the route does with a body
    for method, path, head, headers in [
        ("POST", "/api/testimonies", b'{"source": "', JSON),
        ("POST", "/import", _multipart_head({"csrf_token": "x"}), MULTIPART),
        ("POST", "/api/imports", b"", {"content-type": "text/csv"}),
        ("POST", f"/records/act/{act}/attachments", _multipart_head({}), MULTIPART),
        ("POST", f"/api/records/act/{act}/attachments", b"", {}),
        ("POST", "/users", b"name=", {"content-type": "application/x-www-form-urlencoded"}),
        ("PATCH", f"/api/statements/{site.ids['joint']}", b'{"body": "', JSON),
    ]:
        status, read, _ = send(app, method, path, head, headers)
        assert (status, read) == (401, 0), path


def test_a_declared_length_over_the_bound_is_refused_before_reading(site: Site) -> None:
    client = TestClient(site.app, raise_server_exceptions=False)
    answer = client.post(
        "/login",
        content=b"username=a",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "content-length": str(400 * 1024 * 1024),
        },
    )
    assert answer.status_code == 413


def _token(app: FastAPI, role: str) -> dict[str, str]:
    answer = TestClient(app).post(
        "/api/tokens", json={"username": role, "passphrase": password(role)}
    )
    assert answer.status_code == 201
    return {"authorization": f"Bearer {answer.json()['token']}"}


def test_a_users_bodies_stop_being_read_at_their_bound(site: Site, small: FastAPI) -> None:
    act = site.ids["act_internal"]
    token = _token(small, "documenter")
    for path, headers, query, bound in [
        ("/api/testimonies", JSON, "", SMALL // 4),
        ("/api/imports", {"content-type": "text/csv"}, "format=csv", SMALL),
        (f"/api/records/act/{act}/attachments", {}, "filename=big.bin", SMALL),
    ]:
        head = b'{"source": "' if headers is JSON else b""
        status, read, body = send(small, "POST", path, head, {**token, **headers}, query)
        assert status == 413, (path, body)
        assert read <= bound + 64 * 1024 + CHUNK, path
        assert b'"too_large"' in body
    # the upload pages, with a session and its CSRF token
    browser = login(small, "documenter")
    cookie = {"cookie": f"sillok_session={browser.cookies['sillok_session']}"}
    fields = {"csrf_token": csrf_of(browser)}
    for path in ("/import", f"/records/act/{act}/attachments"):
        form = {**cookie, **MULTIPART}
        status, read, _ = send(small, "POST", path, _multipart_head(fields), form)
        assert status in (413, 422), path
        assert read <= SMALL + 64 * 1024 + CHUNK, path
        # a form without its token: not a byte of the file is written or read past the head
        status, read, _ = send(small, "POST", path, _multipart_head({}), form)
        assert status == 403 and read <= CHUNK, path
    # a file sent to a form that takes none: refused before reading
    status, read, _ = send(
        small, "POST", "/statements/new", _multipart_head(fields), {**cookie, **MULTIPART}
    )
    assert (status, read) == (415, 0)
    assert _work_files(site.folder) == []


def _work_files(folder: Path) -> list[Path]:
    work = folder / WORK_FOLDER
    return [p for p in work.rglob("*") if p.is_file()] if work.exists() else []


class _Writes:
    """Every file or folder opened for writing or made while recording (a Python audit hook:
    ``open``, ``os.open`` and ``tempfile`` all report to it)."""

    recording = False
    paths: list[str] = []
    installed = False

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls.recording:
            return
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR)
            )
            if writing:
                cls.paths.append(os.fsdecode(args[0]))
        elif event in ("os.mkdir", "os.rename", "os.link"):
            cls.paths.append(os.fsdecode(args[0]))

    @classmethod
    def start(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True
        cls.paths = []
        cls.recording = True


def _acts_csv(size: int) -> str:
    header = ",".join(COLUMNS)
    one = row(source_ref="S-9", source_type="testimony", act_type="arbitrary_detention",
              act_date="2009", place="요덕", victim_ref="V-9", sharing="internal")
    line = ",".join(one[c] for c in COLUMNS)
    return header + "\n" + (line + "\n") * (size // len(line.encode()) + 1)


def test_uploads_touch_nothing_outside_the_archives_private_folder(site: Site) -> None:
    documenter = login(site.app, "documenter")
    source = site.ids["source"]
    evidence = os.urandom(3 * 1024 * 1024)  # past Starlette's 1 MiB spooling threshold
    rows = _acts_csv(1_300_000)  # past the threshold too
    _Writes.start()
    try:
        attached = documenter.post(
            f"/records/source/{source}/attachments",
            data={"csrf_token": csrf_of(documenter)},
            files={"file": ("recording.ogg", evidence, "audio/ogg")},
            follow_redirects=False,
        )
        imported = documenter.post(
            "/import",
            data={"csrf_token": csrf_of(documenter)},
            files={"file": ("acts.csv", rows.encode(), "text/csv")},
        )
        streamed = documenter.post(
            "/api/imports?format=csv",
            content=rows.encode(),
            headers={"X-CSRF-Token": csrf_of(documenter)},
        )
    finally:
        _Writes.recording = False
    assert attached.status_code == 303
    assert imported.status_code == 200 and streamed.status_code == 200
    archive = str(site.folder.resolve())
    outside = [
        p
        for p in _Writes.paths
        if not str(Path(p).resolve()).startswith(archive) and "__pycache__" not in p
    ]
    assert outside == []
    assert any(WORK_FOLDER in p for p in _Writes.paths)  # they did pass through it
    assert (site.folder / WORK_FOLDER).stat().st_mode & 0o777 == 0o700
    assert _work_files(site.folder) == []


def test_a_waiting_file_is_overwritten_before_it_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / WORK_FOLDER / "f00d"
    folder.mkdir(parents=True)
    waiting = folder / "testimony.ogg"
    content = b"QXPLAINTEXTQX" * 100_000
    waiting.write_bytes(content)
    peek = tmp_path / "peek"  # a second name for the same blocks, as a disk reader sees them
    os.link(waiting, peek)
    discard(waiting)
    assert not folder.exists()
    assert peek.stat().st_size == len(content)
    assert peek.read_bytes() == bytes(len(content))
