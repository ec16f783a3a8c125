"""Sillok: a documentation system for human rights violations.

The library's public face (docs/library.md)::

    from sillok import Archive, Settings

    with Archive.open("ARCHIVE", passphrase) as archive:
        report = archive.ingest.run(Path("acts.csv"))
        hits = archive.searcher.search("요덕")
        act = archive.records.show("act", hits[0].id)

:class:`Archive` is the front door; :class:`Settings` (with :class:`KdfParams`) the one settings
object; every error a user can fix is a :class:`SillokError` (:class:`ArchiveError`,
:class:`WrongPassphrase`, :class:`NotFound`, :class:`InvalidInput`).
"""

__version__ = "0.1.0"

from sillok.archive import Archive  # noqa: E402
from sillok.errors import ArchiveError, InvalidInput, NotFound, SillokError, WrongPassphrase  # noqa: E402
from sillok.settings import KdfParams, Settings  # noqa: E402

__all__ = [
    "Archive",
    "ArchiveError",
    "InvalidInput",
    "KdfParams",
    "NotFound",
    "Settings",
    "SillokError",
    "WrongPassphrase",
    "__version__",
]
