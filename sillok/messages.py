"""Messages the library writes for people, in English, that a page can say in its own language.

A :class:`Message` *is* its English text (a ``str``: printed, compared, written to JSON as
today), and also keeps the template it was made from and the values put in it. The web layer
looks the template up in its catalog (``sillok/web/locales``) and fills in the same values, so
a Korean page says ``목록끼리 독립이 아닙니다 (…)`` where the command line says "the lists are not
independent (…)"; a template no catalog knows stays English.
"""

from __future__ import annotations

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

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled (sent to another process) as what makes it, not as the bare text
        return (_remake, (self.template, self.values))

    def say(self, catalog: dict[str, str]) -> str:
        """The message in the language of ``catalog`` (template -> translated template)."""
        translated = catalog.get(self.template)
        if not translated:
            return str(self)
        values = {
            k: v.say(catalog) if isinstance(v, Message) else v for k, v in self.values.items()
        }
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):  # a catalog entry that does not fit
            return str(self)


def _remake(template: str, values: dict[str, Any]) -> Message:
    return Message(template, **values)
