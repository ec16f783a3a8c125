"""Messages the library writes for people, in English, that a page can say in its own language.

A :class:`Message` *is* its English text (a ``str``: printed, compared, written to JSON as
today), and also keeps the template it was made from and the values put in it. The web layer
looks the template up in its catalog (``sillok/web/locales``) and fills in the same values, so
a Korean page says ``목록끼리 독립이 아닙니다 (…)`` where the command line says "the lists are not
independent (…)"; a template no catalog knows stays English.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Message(str):
    """English text with its template and values (see the module)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Message:
        """``template.format(**values)``, remembering both."""
        made = super().__new__(cls, template.format(**values) if values else template)
        made.template = template
        made.values = values
        return made

    def split_field(self) -> tuple[str | None, Message]:
        """A message made as ``"{field}: ..."``: the field it names and the rest, as a message
        of its own (a page puts the field's label before it); another: None and itself."""
        if not self.template.startswith(FIELD_PREFIX) or "field" not in self.values:
            return None, self
        rest = {k: v for k, v in self.values.items() if k != "field"}
        template = self.template[len(FIELD_PREFIX) :]
        if template == "{problem}" and isinstance(rest.get("problem"), Message):
            return str(self.values["field"]), rest["problem"]
        return str(self.values["field"]), Message(template, **rest)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled (sent to another process) as what makes it, not as the bare text
        return (_remake, (self.template, self.values))

    def say(self, catalog: dict[str, str]) -> str:
        """The message in the language of ``catalog`` (template -> translated template)."""
        translated = catalog.get(self.template)
        if not translated:
            return str(self)
        values = {k: _said(v, catalog) for k, v in self.values.items()}
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):  # a catalog entry that does not fit
            return str(self)


def _remake(template: str, values: dict[str, Any]) -> Message:
    return Message(template, **values)


class Words(tuple[str, ...]):
    """Words a message lists (choices, field names): written ``a, b, c``, each one looked up
    in a catalog when the message is said in another language."""

    def __str__(self) -> str:
        return ", ".join(self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _said(value: Any, catalog: dict[str, str]) -> Any:
    if isinstance(value, Message):
        return value.say(catalog)
    if isinstance(value, Words):
        return ", ".join(catalog.get(w) or w for w in value)
    return value


# The library's most common messages, made in one place so that every module says them alike
# (and a catalog translates each once).

FIELD_PREFIX = "{field}: "
NO_SUCH = "there is no {kind} with id {id}"
NOT_ONE_OF = "{value!r} is not one of {choices}"
FIELD_NOT_ONE_OF = "{field}: {value!r} is not one of {choices}"


def no_such(kind: str, record_id: object) -> Message:
    """ "there is no act with id 7" (the kind said in the catalog's language)."""
    return Message(NO_SUCH, kind=Message(kind), id=record_id)


def not_one_of(value: object, choices: Iterable[str], field: str | None = None) -> Message:
    """ "'x' is not one of a, b" (or "sort: 'x' is not one of a, b"): the value quoted as
    given, the choices each said in the catalog's language."""
    if field is None:
        return Message(NOT_ONE_OF, value=value, choices=Words(choices))
    return Message(FIELD_NOT_ONE_OF, field=field, value=value, choices=Words(choices))


# Deciding several links at once (``Links.decide_many``).


def no_links_chosen() -> Message:
    """ "no links were chosen": a bulk decision needs at least one."""
    return Message("no links were chosen: select at least one pair to decide")


def link_already_decided(link_id: object, status: str) -> Message:
    """ "link 7 is already accepted": only pending links are decided together."""
    return Message(
        "link {id} is already {status}; only pending links are decided together",
        id=link_id, status=Message(status),
    )


def too_many_links(limit: int) -> Message:
    """ "at most 500 links at once": a bulk decision's size limit."""
    return Message("at most {limit} links can be decided at once", limit=limit)
