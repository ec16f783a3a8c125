"""The public site's settings: the organisation's name and logo, the news section's name and
breadcrumb, in Korean and English, and the site's address.

They are the archive's own (kept in ``archive_meta`` under ``site.``, so every server and every
static copy of the site shows the same), set by a role with ``statement.publish``: what the
public reads is the publisher's to say. Each change is an audit event (``site_settings``), in the
transaction that makes it, since ``archive_meta`` is outside the log.

The logo is a PNG or JPEG image of at most :data:`LOGO_MAX` bytes, checked by its content (not
its name): an SVG can carry a script, so it is refused rather than served.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sillok.errors import InvalidInput
from sillok.messages import not_one_of
from sillok.records.coalition import PublishRightNeeded
from sillok.security.policy import may
from sillok.store import meta as store

if TYPE_CHECKING:
    from sillok.vault import Vault

#: the languages the site's texts are set in (those of the pages)
SITE_LANGUAGES = ("ko", "en")
PREFIX = "site."
LOGO_MAX = 256 * 1024
"""The largest logo accepted, in bytes."""
LOGO_SIDE_MAX = 4096
NAME_MAX = 200
CRUMB_MAX = 80
CRUMBS_MAX = 6
URL_MAX = 300
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL = re.compile(r"^https?://[^\s/?#]+(?:/[^\s]*)?$")


class SiteSettingError(InvalidInput):
    """A site setting that cannot be taken, naming the setting and the value."""


@dataclass(frozen=True)
class Logo:
    """The organisation's logo: the image's bytes and what they are."""

    data: bytes
    media_type: str

    @property
    def extension(self) -> str:
        """The file name extension of the image (``png`` or ``jpg``)."""
        return "png" if self.media_type == "image/png" else "jpg"

    @property
    def digest(self) -> str:
        """A short SHA-256 of the image (a new logo gets a new address, past any cache)."""
        return hashlib.sha256(self.data).hexdigest()[:16]


@dataclass(frozen=True)
class SiteSettings:
    """What the public pages are headed with, per language (``ko``, ``en``)."""

    names: Mapping[str, str] = field(default_factory=dict)
    sections: Mapping[str, str] = field(default_factory=dict)
    breadcrumbs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    url: str | None = None
    logo_type: str | None = None
    logo_digest: str | None = None

    def name(self, lang: str) -> str | None:
        """The organisation's name in ``lang`` (else in the other language; None if unset)."""
        return _either(self.names, lang)

    def section(self, lang: str) -> str | None:
        """The news section's name in ``lang`` (else in the other language; None if unset)."""
        return _either(self.sections, lang)

    def breadcrumb(self, lang: str) -> tuple[str, ...]:
        """The breadcrumb's parts in ``lang``, home first (empty if unset)."""
        return self.breadcrumbs.get(lang) or next(iter(self.breadcrumbs.values()), ())

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "names": dict(self.names),
            "sections": dict(self.sections),
            "breadcrumbs": {k: " > ".join(v) for k, v in self.breadcrumbs.items()},
            "url": self.url,
            "logo": self.logo_type,
        }


def _either(values: Mapping[str, str], lang: str) -> str | None:
    return values.get(lang) or next(iter(values.values()), None)


def _text(name: str, lang: str, value: str, limit: int) -> str | None:
    value = value.strip()
    if _CONTROL.search(value):
        raise SiteSettingError(f"{name} ({lang}): {value!r} holds a control character")
    if len(value) > limit:
        raise SiteSettingError(
            f"{name} ({lang}): {len(value)} characters is more than the {limit} allowed"
        )
    return value or None


def breadcrumb_parts(lang: str, value: str) -> tuple[str, ...]:
    """The parts of a breadcrumb written ``Home > Coalition Activities > News on Members``.

    Raises:
        SiteSettingError: an empty part, a part too long, or too many parts, named.
    """
    if not value.strip():
        return ()
    parts = tuple(p.strip() for p in value.split(">"))
    if any(not p for p in parts):
        raise SiteSettingError(f"breadcrumb ({lang}): {value!r} has an empty part between '>'")
    if len(parts) > CRUMBS_MAX:
        raise SiteSettingError(
            f"breadcrumb ({lang}): {value!r} has {len(parts)} parts, more than {CRUMBS_MAX}"
        )
    for part in parts:
        _text("breadcrumb", lang, part, CRUMB_MAX)
    return parts


def checked_logo(data: bytes, name: str = "logo") -> Logo:
    """A logo from an image's bytes, checked by its content.

    Raises:
        SiteSettingError: naming ``name`` and why: too large, not a PNG or JPEG (an SVG is
            refused), or a PNG whose size is zero or too large.
    """
    if len(data) > LOGO_MAX:
        raise SiteSettingError(f"logo: {name} is {len(data)} bytes, more than {LOGO_MAX}")
    if data.startswith(_PNG):
        if len(data) < 33 or data[12:16] != b"IHDR":
            raise SiteSettingError(f"logo: {name} is not a whole PNG image (no IHDR header)")
        width, height = struct.unpack(">II", data[16:24])
        if not (0 < width <= LOGO_SIDE_MAX and 0 < height <= LOGO_SIDE_MAX):
            raise SiteSettingError(
                f"logo: {name} is {width}x{height} pixels (at most {LOGO_SIDE_MAX} a side)"
            )
        return Logo(data, "image/png")
    if data.startswith(_JPEG):
        if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise SiteSettingError(f"logo: {name} is not a whole JPEG image (no end marker)")
        return Logo(data, "image/jpeg")
    head = data[:256].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        raise SiteSettingError(f"logo: {name} is an SVG image; give a PNG or JPEG (an SVG can "
                               "carry a script)")
    raise SiteSettingError(f"logo: {name} is not a PNG or JPEG image")


def read_logo(path: Path) -> Logo:
    """The logo in an image file, read no further than :data:`LOGO_MAX` bytes and checked.

    Raises:
        SiteSettingError: naming the file, when it cannot be read or is not a logo.
    """
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(LOGO_MAX + 1)
    except OSError as exc:
        raise SiteSettingError(f"logo: {path}: {exc.strerror or exc}") from None
    if len(data) > LOGO_MAX:
        raise SiteSettingError(f"logo: {path} is more than {LOGO_MAX} bytes")
    return checked_logo(data, str(path))


@dataclass(frozen=True)
class SiteChange:
    """What to change in the site's settings; None leaves a setting as it is, ``""`` clears
    it. The texts are in ``lang``."""

    lang: str = "ko"
    name: str | None = None
    section: str | None = None
    breadcrumb: str | None = None
    url: str | None = None
    logo: Logo | None = None
    remove_logo: bool = False


class Site:
    """The public site's settings of an archive (``Site(vault)``)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def check_publish_right(self, doing: str) -> None:
        """Refuse a role without ``statement.publish`` (what the public reads is the
        publisher's to say).

        Raises:
            PublishRightNeeded: naming the role, what it may not do, and the right.
        """
        role = self.vault.role
        if not may(role, "statement.publish"):
            raise PublishRightNeeded(f"the {role} role may not {doing} (statement.publish)")

    def settings(self) -> SiteSettings:
        """The settings as they are (an archive that set none has empty ones)."""
        with self.vault.store.reading() as conn:
            values = store.meta_values(conn, PREFIX)
        return _settings(values)

    def logo(self) -> Logo | None:
        """The organisation's logo, if one was set."""
        with self.vault.store.reading() as conn:
            values = store.meta_values(conn, f"{PREFIX}logo")
        data, media_type = values.get(f"{PREFIX}logo"), values.get(f"{PREFIX}logo_type")
        if not data or not media_type:
            return None
        return Logo(base64.b64decode(data), media_type)

    def set(self, change: SiteChange, actor: str | None = None) -> SiteSettings:
        """Change the settings, all or nothing.

        Raises:
            PublishRightNeeded: for a role without ``statement.publish``.
            SiteSettingError: naming the setting, the language and the value that is wrong.
        """
        return self.set_all([change], actor)

    def set_all(self, changes: Sequence[SiteChange], actor: str | None = None) -> SiteSettings:
        """Make several changes (one per language, say) in one transaction, all or nothing.

        Raises:
            PublishRightNeeded, SiteSettingError: as :meth:`set`; nothing is changed.
        """
        self.check_publish_right("change the public site's settings")
        values: dict[str, str | None] = {}
        for change in changes:
            values.update(_values(change))
        if not values:
            return self.settings()
        with self.vault.store.transaction() as conn:
            store.set_meta_values(conn, values)
            self.vault.audit.record(
                "site_settings",
                conn=conn,
                actor=actor,
                detail={"changed": sorted(k.removeprefix(PREFIX) for k in values)},
            )
        return self.settings()


def _values(change: SiteChange) -> dict[str, str | None]:
    lang = change.lang
    if lang not in SITE_LANGUAGES:
        raise SiteSettingError(not_one_of(lang, SITE_LANGUAGES, "lang"))
    values: dict[str, str | None] = {}
    if change.name is not None:
        values[f"{PREFIX}name.{lang}"] = _text("name", lang, change.name, NAME_MAX)
    if change.section is not None:
        values[f"{PREFIX}section.{lang}"] = _text("section", lang, change.section, NAME_MAX)
    if change.breadcrumb is not None:
        parts = breadcrumb_parts(lang, change.breadcrumb)
        values[f"{PREFIX}breadcrumb.{lang}"] = " > ".join(parts) or None
    if change.url is not None:
        url = change.url.strip().rstrip("/")
        if url and (len(url) > URL_MAX or not _URL.match(url)):
            raise SiteSettingError(f"url: {change.url!r} is not an http:// or https:// address")
        values[f"{PREFIX}url"] = url or None
    if change.remove_logo:
        values[f"{PREFIX}logo"] = values[f"{PREFIX}logo_type"] = None
    elif change.logo is not None:
        logo = checked_logo(change.logo.data)
        values[f"{PREFIX}logo"] = base64.b64encode(logo.data).decode("ascii")
        values[f"{PREFIX}logo_type"] = logo.media_type
    return values


def _settings(values: Mapping[str, str]) -> SiteSettings:
    def per_language(key: str) -> dict[str, str]:
        return {
            lang: values[f"{PREFIX}{key}.{lang}"]
            for lang in SITE_LANGUAGES
            if values.get(f"{PREFIX}{key}.{lang}")
        }

    logo = values.get(f"{PREFIX}logo")
    return SiteSettings(
        names=per_language("name"),
        sections=per_language("section"),
        breadcrumbs={
            lang: tuple(p.strip() for p in text.split(">"))
            for lang, text in per_language("breadcrumb").items()
        },
        url=values.get(f"{PREFIX}url") or None,
        logo_type=values.get(f"{PREFIX}logo_type") if logo else None,
        logo_digest=hashlib.sha256(logo.encode()).hexdigest()[:16] if logo else None,
    )
