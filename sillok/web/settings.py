"""The web application's settings, in one dataclass."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sillok.settings import Settings


@dataclass(frozen=True)
class WebSettings:
    """How the web application runs.

    Attributes:
        passphrase: unlocks the archive when the server starts (the operator's); users then
            log in with their own passphrases, checked against their wrapped keys.
        archive: the archive's own settings (argon2 parameters, search limit...).
        session_idle_seconds: a session unused this long expires.
        session_max_seconds: a session expires this long after login, used or not.
        token_idle_seconds: an API token unused this long expires.
        max_failed_logins: failed logins in a row, per user name, before it is locked.
        lockout_seconds: how long a locked user name stays locked.
        secure_cookies: mark cookies Secure even when the request itself came over plain HTTP
            (behind a TLS-terminating proxy); they are Secure anyway on an https request.
        max_upload_bytes: the largest import file accepted.
        max_evidence_bytes: the largest evidence file accepted (streamed, never in memory).
        max_body_bytes: the largest body of any other request from a logged-in user (a
            testimony, a statement); a visitor may send nothing but a login form (8 KiB).
        max_open_archives: how many users' archives the server holds open at once (one per
            logged-in user, shared by their sessions and tokens); a login past it answers 503.
        page_size: items per page in lists.
        clock: seconds since the epoch (wall time: the sessions' times are shared by the
            server's workers and outlive a restart, which a monotonic clock would not be); a
            test passes its own to move time without sleeping.
    """

    passphrase: str = ""
    archive: Settings = field(default_factory=Settings)
    session_idle_seconds: int = 30 * 60
    session_max_seconds: int = 12 * 60 * 60
    token_idle_seconds: int = 8 * 60 * 60
    max_failed_logins: int = 5
    lockout_seconds: int = 15 * 60
    secure_cookies: bool = False
    max_upload_bytes: int = 50 * 1024 * 1024
    max_evidence_bytes: int = 8 * 1024 * 1024 * 1024
    max_body_bytes: int = 4 * 1024 * 1024
    max_open_archives: int = 64
    page_size: int = 20
    clock: Callable[[], float] = time.time
