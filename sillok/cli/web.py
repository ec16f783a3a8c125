"""`sillok serve`: the web application and HTTP API on uvicorn."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import typer

from sillok.cli import (
    ArchiveArg,
    PassphraseFile,
    app,
    console,
    err_console,
    friendly_errors,
    read_passphrase,
)
from sillok.cli.commands import ProgressBar
from sillok.demo import open_or_create
from sillok.errors import SillokError

DEMO_SIZE = 2000
#: how long a worker process may take to start (or to answer the supervisor) before it is
#: restarted
WORKER_START_SECONDS = 120


def plain_http_warning(host: str, secure_cookies: bool) -> str | None:
    """What to tell the operator before serving plain HTTP beyond this machine, or None.

    On the loopback address only this machine can connect; on any other address passphrases
    and records cross the network in the clear unless a TLS proxy in front serves https (and
    ``--secure-cookies`` says so).
    """
    if secure_cookies or _loopback(host):
        return None
    return (
        f"warning: serving plain HTTP on {host}: passphrases, session cookies and records cross "
        "the network unencrypted. Serve on 127.0.0.1 behind a TLS proxy (https) and pass "
        "--secure-cookies, or keep to this machine."
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


@app.command()
@friendly_errors
def serve(
    archive: Path = ArchiveArg,
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="The port to listen on."),
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        help="Mark cookies Secure and send Strict-Transport-Security (when a TLS proxy in "
        "front serves the site over https).",
    ),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Create a demo archive of synthetic testimonies if the folder holds none, "
        "and print its login.",
    ),
    passphrase_file: Path = PassphraseFile,
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="How many worker processes serve requests (sessions are shared through the "
        "archive's database; about one per CPU core).",
    ),
) -> None:
    """Serve the archive in a browser and over the HTTP API (FastAPI on uvicorn).

    The passphrase unlocks the archive for the server; users then log in with their own.
    Requests are not logged, because their addresses can hold search words and names.
    Serving on an address other than loopback without --secure-cookies prints a warning:
    plain HTTP carries passphrases in the clear. With --workers N, N processes share the
    listening socket; each opens the archive itself, and the passphrase reaches them through
    the pipe each is started with, never a command line, the environment or a file.
    """
    import uvicorn

    # FastAPI and uvicorn are the optional `web` extra: imported only to serve.
    from sillok.web import WebSettings, create_app

    passphrase = read_passphrase(passphrase_file)
    if demo:
        with ProgressBar(DEMO_SIZE) as advance:
            opened, created = open_or_create(archive, passphrase, DEMO_SIZE, 1, progress=advance)
        opened.close()
        if created:
            console.print(f"Created a demo archive of {DEMO_SIZE} synthetic acts in {archive}.")
    settings = WebSettings(passphrase=passphrase, secure_cookies=secure_cookies)
    web_app = create_app(archive, settings)
    # Bind before saying where: once the address is printed, connections to it wait in the
    # socket's backlog instead of being refused.
    try:
        sock = socket.create_server((host, port), backlog=128)
        # Send each response at once (accepted sockets inherit it): without it a response
        # waits on Nagle's algorithm and the client's delayed ACK, ~40 ms per request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        web_app.state.web.close()
        raise SillokError(
            f"--host/--port: cannot listen on {host}:{port} ({exc.strerror})"
        ) from None
    users = ", ".join(u["name"] for u in web_app.state.web.archive.users.list() if u["active"])
    warning = plain_http_warning(host, secure_cookies)
    if warning:
        err_console.print(warning, soft_wrap=True)
    console.print(
        f"Sillok is serving {archive} at http://{host}:{port}/ (Ctrl-C stops it).", soft_wrap=True
    )
    if demo:
        console.print(
            f"Demo login: user [bold]owner[/bold], passphrase [bold]{passphrase}[/bold]",
            soft_wrap=True,
        )
    else:
        console.print(f"Users: {users}", soft_wrap=True)
    if workers == 1:
        config = uvicorn.Config(web_app, log_level="warning", access_log=False)
        try:
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()
            web_app.state.web.close()
        return
    # Several workers: this process only watches them (uvicorn's supervisor restarts one that
    # dies); it lets go of its own archive first.
    web_app.state.web.close()
    serve_workers(archive, settings, sock, workers)


def serve_workers(folder: Path, settings: object, sock: socket.socket, workers: int) -> None:
    """Run ``workers`` processes of the application on ``sock`` until Ctrl-C or SIGTERM."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from sillok.web import AppFactory, WebSettings

    assert isinstance(settings, WebSettings)
    config = uvicorn.Config(
        AppFactory(folder, settings),
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        # A worker answers the supervisor's pings once it has imported the application and
        # opened the archive (argon2): on a busy machine that takes longer than uvicorn's
        # default 5 s, after which it would kill and restart the worker, again and again.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
