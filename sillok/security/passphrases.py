"""How strong a passphrase is: a seized laptop is attacked offline, one argon2id guess at a time.

``keys.json`` wraps each user's keys under an argon2id key of their passphrase, so whoever holds
a copy of the folder can try passphrases as fast as argon2id allows, without limit. A passphrase
is accepted when zxcvbn (Dropbox's estimator, MIT) puts it at :data:`MIN_GUESSES_LOG10` guesses
or more: about 10^10, which at even 1,000 argon2id guesses a second on rented hardware is months.
The names of the user and the archive count as known to the attacker.
"""

from __future__ import annotations

from collections.abc import Sequence

from zxcvbn import zxcvbn

from sillok.errors import InvalidInput
from sillok.messages import Message

MIN_GUESSES_LOG10 = 10.0
MAX_CHECKED = 72
"""zxcvbn refuses longer input (ValueError) and its time grows with the length; characters past
this only add strength."""


def check_strength(passphrase: str, known: Sequence[str] = ()) -> str:
    """The passphrase when strong enough, else :class:`InvalidInput` saying why (never the
    passphrase itself).

    Args:
        passphrase: the new passphrase.
        known: words an attacker would try first (the user's name, the archive's folder).
    """
    if not passphrase:
        raise InvalidInput(Message("an empty passphrase is not allowed"))
    result = zxcvbn(passphrase[:MAX_CHECKED], user_inputs=[k[:MAX_CHECKED] for k in known if k])
    guesses = float(result["guesses_log10"])
    if guesses < MIN_GUESSES_LOG10:
        feedback = result.get("feedback") or {}
        hints = [feedback.get("warning") or "", *(feedback.get("suggestions") or [])]
        advice = " ".join(h for h in hints if h) or "Add another word or two."
        raise InvalidInput(Message(
            "this passphrase is too easy to guess (about 10^{guesses:.0f} guesses; at least "
            "10^{needed:.0f} are needed, because a stolen copy of the archive can be attacked "
            "offline). {advice} Four or five unrelated words are a good passphrase.",
            guesses=guesses, needed=MIN_GUESSES_LOG10, advice=advice,
        ))
    return passphrase
