"""`sillok serve`: the command starts the site, and the web settings are documented."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sillok.web import WebSettings
from tests.test_web_app import build_site

ROOT = Path(__file__).parent.parent


def test_every_web_setting_is_documented_with_its_default() -> None:
    docs = (ROOT / "docs" / "web.md").read_text("utf-8")
    defaults = WebSettings()
    for field in dataclasses.fields(WebSettings):
        row = next(
            (line for line in docs.splitlines() if line.startswith(f"| `{field.name}`")), None
        )
        assert row is not None, field.name
        value = getattr(defaults, field.name)
        if isinstance(value, int | bool):
            assert f"| {value} |" in row, (field.name, value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive folder with the test site's data (no server running on it)."""
    path = tmp_path_factory.mktemp("serve") / "archive"
    build_site(path).app.state.web.close()
    return path


def test_serve_starts_the_site(folder: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SILLOK_PASSPHRASE": "correct horse battery staple"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sillok.cli import main; main()",
            "serve",
            str(folder),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The address is printed once the socket listens: no waiting or retrying needed.
        line = process.stdout.readline() if process.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line, line
        with httpx.Client(timeout=30) as client:
            answer = client.get(f"http://127.0.0.1:{port}/news?language=en")
        assert answer.status_code == 200
        assert "Joint statement on Yodok" in answer.text
        assert "content-security-policy" in answer.headers
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert process.returncode is not None


def test_serve_refuses_a_wrong_passphrase(folder: Path) -> None:
    env = {**os.environ, "SILLOK_PASSPHRASE": "not the passphrase"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sillok.cli import main; main()",
            "serve",
            str(folder),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "passphrase" in done.stderr and "Traceback" not in done.stderr
