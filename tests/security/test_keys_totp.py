"""Second-factor secrets, attacked offline with another user's key copy.

Threat model: "curious or coerced user of a low role", asset "TOTP secrets"
(docs/threat-model.md): with a colleague's secret and their passphrase (seen over a shoulder,
or coerced), the second factor is worth nothing.
"""

from __future__ import annotations

import pyotp

from sillok.archive import Archive
from sillok.folder import KEYS_FILE
from sillok.web.totp import TotpStore
from tests.security.conftest import Loot, add_user, open_as, staged, tools_fit, totp_secrets


def test_a_viewers_copy_does_not_open_a_colleagues_totp_secret(yodok: Archive) -> None:
    reviewer_passphrase = add_user(yodok, "qx.reviewer", "reviewer")
    secret = TotpStore.new_secret()
    with open_as(yodok.folder, "qx.reviewer", reviewer_passphrase) as reviewer:
        store = TotpStore(yodok.folder)
        code = pyotp.TOTP(secret).now()
        enrolled = store.enroll(reviewer.user.name, reviewer.keys, secret, code)
        staged(enrolled, "the reviewer enrolled")
    reviewer_loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.reviewer", reviewer_passphrase)
    tools_fit(secret in totp_secrets(yodok.folder, reviewer_loot), "the reviewer's copy opens it")
    passphrase = add_user(yodok, "qx.viewer", "viewer")
    loot = Loot.from_copy(yodok.folder / KEYS_FILE, "qx.viewer", passphrase)
    found = totp_secrets(yodok.folder, loot)
    assert secret not in found, "the viewer's copy opened the reviewer's second factor"
