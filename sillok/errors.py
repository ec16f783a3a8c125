"""The errors Sillok raises for things a user can fix: each names what was wrong.

Entry points catch :class:`SillokError` and print its message; anything else is a bug.
"""

from __future__ import annotations


class SillokError(Exception):
    """Base of every error whose message is meant for the user."""


class ArchiveError(SillokError):
    """The archive is missing, unreadable, damaged or not an archive."""


class WrongPassphrase(ArchiveError):
    """The passphrase does not unlock the archive."""


class NotFound(SillokError):
    """A record, vocabulary or term that was asked for does not exist."""


class InvalidInput(SillokError):
    """Input that fails validation; the message names the row, field and value."""
