"""Korean and English for the pages: Babel message catalogs, the visitor's language.

Messages are written in English in the code and templates (``_("Search")``); the catalogs in
``sillok/web/locales/LANG/LC_MESSAGES/messages.po`` translate them. The ``.po`` files are read
directly (no compiled ``.mo`` files to keep in step). A visitor's language comes from the
``sillok_lang`` cookie that the switch on every page sets, then from ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "ko"
LANG_COOKIE = "sillok_lang"
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> translation for one language (untranslated messages are absent)."""
    path = resources.files("sillok.web").joinpath("locales", lang, "LC_MESSAGES", "messages.po")
    with path.open("rb") as fh:
        po = read_po(fh, locale=lang)
    return {
        str(m.id): str(m.string)
        for m in po
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
    }


def translator(lang: str) -> Callable[..., str]:
    """The ``_`` function of a language: translate, then fill ``{name}`` placeholders."""
    messages = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)

    def gettext(message: str, **values: object) -> str:
        text = messages.get(message, message)
        return text.format(**values) if values else text

    return gettext


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the cookie, then the browser's first known preference."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


#: messages that pages translate with a value known only at run time (field names, record
#: kinds, roles, sharing levels); listed so that extraction finds them
RUNTIME_MESSAGES = (
    # record kinds and lists
    "source",
    "event",
    "act",
    "person",
    "place",
    "organization",
    "statement",
    "acts",
    "sources",
    "sources",
    "events",
    "persons",
    "organizations",
    # statement kinds
    "news",
    "report",
    # roles
    "admin",
    "coordinator",
    "documenter",
    "reviewer",
    "analyst",
    "viewer",
    # sharing levels and choices in the entry form
    "confidential",
    "internal",
    "public",
    "testimony",
    "interview",
    "document",
    "media_report",
    "ngo_report",
    "other",
    "male",
    "female",
    "unknown",
    # facets
    "act_type",
    "year",
    "province",
    "facility",
    "agency",
    "sharing",
    "facility_type",
    # record fields
    "ref",
    "version",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "act_type_label",
    "legal_refs",
    "victim",
    "victim_id",
    "event_id",
    "date_edtf",
    "date_lower",
    "date_upper",
    "place_id",
    "facility_id",
    "description",
    "perpetrators",
    "source_type",
    "informant_id",
    "language",
    "title",
    "narrative",
    "reliability",
    "names",
    "origin",
    "origin_place_id",
    "sex",
    "birth_edtf",
    "birth_lower",
    "birth_upper",
    "status",
    "protected",
    "within",
    "parent_id",
    "kind",
    "name_ko",
    "name_en",
    "aliases",
    "vocab_key",
    "latitude",
    "longitude",
    "unverified",
    "published",
    "translation_of",
    "body",
    "date",
    "[redacted]",
    "victim_names",
    "informant",
    "added",
    "opened",
    "rehashed",
)


def extract_messages() -> list[str]:
    """Every message id the code and templates use (for keeping the catalogs complete)."""
    from babel.messages.extract import extract_from_dir

    folder = str(resources.files("sillok.web"))
    found = extract_from_dir(
        folder,
        method_map=[("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        keywords={"_": None},
    )
    messages = {str(m[2]) for m in found if isinstance(m[2], str)}
    return sorted(messages | set(RUNTIME_MESSAGES))
