"""`sillok serve`: the web application and HTTP API on uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from sillok.cli import PassphraseFile, app, console, friendly_errors, read_passphrase
from sillok.cli.commands import ArchiveArg, ProgressBar

DEMO_SIZE = 2000


@app.command()
@friendly_errors
def serve(
    archive: Path = ArchiveArg,
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="The port to listen on."),
    secure_cookies: bool = typer.Option(
        False,
        "--secure-cookies",
        help="Mark cookies Secure (when a TLS proxy in front serves the site over https).",
    ),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Create a demo archive of synthetic testimonies if the folder holds none, "
        "and print its login.",
    ),
    passphrase_file: Path = PassphraseFile,
) -> None:
    """Serve the archive in a browser and over the HTTP API (FastAPI on uvicorn).

    The passphrase unlocks the archive for the server; users then log in with their own.
    Requests are not logged, because their addresses can hold search words and names.
    """
    import uvicorn

    from sillok.web import WebSettings, create_app

    passphrase = read_passphrase(passphrase_file)
    if demo:
        from sillok.demo import open_or_create

        with ProgressBar(DEMO_SIZE) as advance:
            opened, created = open_or_create(archive, passphrase, DEMO_SIZE, 1, progress=advance)
        opened.close()
        if created:
            console.print(f"Created a demo archive of {DEMO_SIZE} synthetic acts in {archive}.")
    web_app = create_app(archive, WebSettings(passphrase=passphrase, secure_cookies=secure_cookies))
    users = ", ".join(web_app.state.web.accounts.names())
    console.print(f"Sillok is serving {archive} at http://{host}:{port}/ (Ctrl-C stops it).")
    if demo:
        console.print(f"Demo login: user [bold]owner[/bold], passphrase [bold]{passphrase}[/bold]")
    else:
        console.print(f"Users: {users}")
    uvicorn.run(web_app, host=host, port=port, log_level="warning", access_log=False)
