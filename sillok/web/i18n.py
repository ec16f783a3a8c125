"""Korean and English for the pages: Babel message catalogs, the visitor's language.

Messages are written in English in the code and templates (``_("Search")``); the catalogs in
``sillok/web/locales/LANG/LC_MESSAGES/messages.po`` translate them. The ``.po`` files are read
directly (no compiled ``.mo`` files to keep in step). A visitor's language comes from the
``sillok_lang`` cookie that the switch on every page sets, then from ``Accept-Language``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po
from markupsafe import Markup, escape

from sillok.messages import Message

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
        if isinstance(message, Message):  # the library's words, with their values
            return message.say(messages)
        text = messages.get(message)
        if text is None:  # a library's message (an error page's): its catalog form, if any
            return _fill(message, values) if values else local_error(message, lang)
        return _fill(text, values) if values else text

    return gettext


def _fill(text: str, values: dict[str, object]) -> str:
    """``text`` with its ``{name}`` placeholders filled; markup among the values (a name marked
    ``translate="no"`` by a template) stays markup, and the rest is escaped around it."""
    if any(isinstance(v, Markup) for v in values.values()):
        return Markup(escape(text)).format(**values)
    return text.format(**values)


def data(value: object) -> Markup:
    """A value a page shows as recorded (a name, a user's name): marked for no translation."""
    return Markup('<span translate="no">{}</span>').format(value)


def said(exc: BaseException) -> str:
    """An error's message: the library's :class:`Message` kept as one (a page then says it in
    its language, by the message's template), or the error's text."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Message) else str(exc)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the cookie, then the browser's first known preference."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


#: fields whose values are vocabulary words the catalogs translate
PLACED = ("place", "facility", "within", "origin")  #: fields that name places or agencies
WORDS = ("sex", "sharing", "source_type", "reliability", "status", "kind", "language")

#: messages that pages translate with a value known only at run time (field names, record
#: kinds, roles, sharing levels); listed so that extraction finds them
RUNTIME_MESSAGES = (
    # the languages a statement is written in (ISO 639-1), by name
    "ko",
    "en",
    "ja",
    "zh",
    "fr",
    "de",
    "es",
    "ru",
    # the dashboard's linkage counts and the estimate page's lists
    "links:pending",
    "links:accepted",
    "links:rejected",
    "estimate:source_type",
    "estimate:collection",
    # audit actions (the audit page)
    "audit:login",
    "audit:login_failed",
    "audit:write",
    "audit:open_sealed",
    "audit:export",
    "audit:proof",
    "audit:attachment_add",
    "audit:attachment_get",
    "audit:user_add",
    "audit:user_remove",
    "audit:user_passwd",
    "audit:author_key",
    "audit:coalition_members",
    "audit:mapping_saved",
    "audit:keys_rotate",
    "audit:shred",
    "audit:backup",
    "audit:restore",
    "audit:replicate",
    "audit:verify",
    "audit:site_settings",
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
    "signed_edtf",
    "signed_lower",
    "signed_upper",
    "member_id",
    "withheld",
    "sum of strata",
    "relevance",
    "date_asc",
    "date_desc",
    "[redacted]",
    "[protected]",
    # form field labels (field_label) and words put into library messages
    "Event {n}",
    "Act {n}",
    "Source type",
    "Reference",
    "Informant",
    "Narrative",
    "Event title",
    "Victim reference",
    "Agencies",
    "Persons",
    "Description",
    "Sharing level",
    "act type",
    "facility type",
    "link",
    "attachment",
    "Other names of the victim",
    "Protected victim",
    "Page number",
    "victim_names",
    "informant",
    "added",
    "opened",
    "rehashed",
)


def extract_messages() -> list[str]:
    """Every message id the code and templates use (for keeping the catalogs complete): the
    pages' ``_("...")`` and the library's ``Message("...")`` templates, which pages say."""
    from babel.messages.extract import extract_from_dir

    pages = extract_from_dir(
        str(resources.files("sillok.web")),
        method_map=[("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
        keywords={"_": None},
    )
    library = extract_from_dir(
        str(resources.files("sillok")), method_map=[("**.py", "python")], keywords={"Message": None}
    )
    messages = {str(m[2]) for m in (*pages, *library) if isinstance(m[2], str)}
    return sorted(messages | set(RUNTIME_MESSAGES))


def local_title(kind: str, title: str, lang: str) -> str:
    """A record's one-line title, made by the records service in ``lang``
    (``archive.records.titles(hits, lang)``: act types, places and dates already in it), with
    the page's own words put in: the record kind and the redaction markers."""
    _ = translator(lang)
    parts = title.split(" · ")
    if kind not in ("act", "person"):
        first, _sep, rest = title.partition(" ")
        if first.lower() == kind and rest:
            return f"{_(kind)} {rest}"
    return " · ".join(_(p) if p in ("[protected]", "[redacted]") else p for p in parts)


def local_names(value: Any, lang: str, archive: Any) -> Any:
    """A place or agency as a page in ``lang`` names it: ``Hoeryong (회령시) < North Hamgyong
    (함경북도)`` reads ``회령시 < 함경북도`` in Korean (other values are left as they are)."""
    if lang == "en" or not isinstance(value, str):
        return value
    names = {**_place_names(archive.organizations, lang), **_place_names(archive.places, lang)}
    return " < ".join(names.get(part, part) for part in value.split(" < "))


def _place_names(places: Any, lang: str) -> dict[str, str]:
    """Each place's shown label -> its name in ``lang`` (kept on the directory)."""
    key = f"_names_{lang}"
    count, known = getattr(places, key, (-1, {}))
    if count != len(places.by_id):  # a place was added since
        known = {
            e.label: (e.name_ko if lang == "ko" else e.name_en) or e.label
            for e in places.by_id.values()
        }
        setattr(places, key, (len(places.by_id), known))
    return dict(known)


#: the labels of the testimony form's fields, by the last part of their name
FIELD_LABELS = {
    "source_type": "Source type",
    "source_date": "Date",
    "source_ref": "Reference",
    "informant": "Informant",
    "language": "Language",
    "title": "Title",
    "narrative": "Narrative",
    "event_title": "Event title",
    "event_ref": "Reference",
    "act_type": "Act type",
    "act_date": "Date",
    "place": "Place",
    "facility": "Facility or facility type",
    "victim_name": "Name (Latin letters)",
    "victim_name_hangul": "Name (Hangul)",
    "victim_aliases": "Other names of the victim",
    "victim_sex": "Sex",
    "victim_birth": "Born",
    "victim_origin": "Home region",
    "victim_ref": "Victim reference",
    "perpetrator_org": "Agencies",
    "perpetrator_name": "Persons",
    "perpetrator_role": "Their role",
    "description": "Description",
    "sharing": "Sharing level",
    "protected": "Protected victim",
}
_FIELD = re.compile(r"^(?:event-(\d+)-|act-(\d+)-(\d+)-)?(?:source-)?(\w+)$")


def field_label(name: str, lang: str) -> str:
    """How the page calls a form field: ``act-0-1-act_type`` is "Event 1 › Act 2 › Act type"
    (never the field's internal name)."""
    _ = translator(lang)
    m = _FIELD.match(name)
    if m is None:
        return name
    event, act_event, act, column = m[1], m[2], m[3], m[4]
    parts = []
    if event is not None or act_event is not None:
        parts.append(_("Event {n}", n=int(event if event is not None else act_event) + 1))
    if act is not None:
        parts.append(_("Act {n}", n=int(act) + 1))
    parts.append(_(FIELD_LABELS.get(column, column.replace("_", " ").capitalize())))
    return " › ".join(parts)


_CLI = re.compile(r"\s*\((?:see |run )?`sillok [^`]*`\)|\s*[;:.]?\s*(?:see|run) `sillok [^`]*`\.?")


def local_error(message: str, lang: str) -> str:
    """A library error as a page says it, in ``lang``: a :class:`Message` by its template in
    the catalog (the values it names kept, words among them translated), any other text as it
    is; never a command-line command."""
    messages = catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    text = message.say(messages) if isinstance(message, Message) else str(message)
    return _CLI.sub("", text).strip()
