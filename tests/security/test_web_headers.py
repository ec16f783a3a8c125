"""Issue 12, finding 11 (headers): Strict-Transport-Security over https and with
``--secure-cookies`` (a TLS proxy in front), and a warning when ``sillok serve`` offers plain
HTTP beyond this machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sillok.cli.web import plain_http_warning
from sillok.web import WebSettings, create_app
from tests.conftest import FAST, PASSPHRASE
from tests.test_web_app import Site, build_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site of its own, with no server running on its folder."""
    built = build_site(tmp_path_factory.mktemp("headers") / "archive")
    try:
        yield built
    finally:
        built.app.state.web.close()


def test_hsts_over_https_and_behind_a_tls_proxy(site: Site) -> None:
    over_https = TestClient(site.app, base_url="https://testserver")
    for url in ("/", "/login", "/api/statements", "/static/site.css"):
        answer = over_https.get(url)
        assert answer.headers["strict-transport-security"] == "max-age=31536000", url
    plain = TestClient(site.app).get("/")
    assert "strict-transport-security" not in plain.headers
    proxied = create_app(
        site.folder, WebSettings(passphrase=PASSPHRASE, archive=FAST, secure_cookies=True)
    )
    try:
        answer = TestClient(proxied).get("/news")
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
    finally:
        proxied.state.web.close()


def test_plain_http_beyond_loopback_is_warned_about() -> None:
    for host in ("0.0.0.0", "::", "192.0.2.7", "sillok.example.org"):
        warning = plain_http_warning(host, secure_cookies=False)
        assert warning is not None and "plain HTTP" in warning, host
        assert plain_http_warning(host, secure_cookies=True) is None, host
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert plain_http_warning(host, secure_cookies=False) is None, host


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_on_every_address_prints_the_warning(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    build_site(folder).app.state.web.close()  # the command opens the folder itself
    port = _free_port()
    env = {**os.environ, "SILLOK_PASSPHRASE": PASSPHRASE}
    process = subprocess.Popen(
        [sys.executable, "-c", "from sillok.cli import main; main()", "serve",
         str(folder), "--host", "0.0.0.0", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The address is printed once the socket listens, after the warning.
        line = process.stdout.readline() if process.stdout else ""
        assert f"http://0.0.0.0:{port}/" in line, line
    finally:
        process.terminate()
        process.wait(timeout=20)
    errors = process.stderr.read() if process.stderr else ""
    assert "warning: serving plain HTTP on 0.0.0.0" in errors.replace("\n", " ")
