"""Markdown as the public pages show it: a statement's body, rendered without raw HTML.

Paragraphs, lists, quotes, emphasis, headings, code and links are rendered (CommonMark, by
markdown-it-py, MIT). Raw HTML in the text is shown as text, never passed through; images are
not rendered (a picture fetched from elsewhere would tell its host who reads the page); a link
is a link only to the web, to mail or to an address on the same site, so ``javascript:``,
``data:``, ``vbscript:`` and ``file:`` links stay text.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

#: link targets a body may have besides addresses on the same site
LINK_SCHEMES = ("http:", "https:", "mailto:")


def _allowed(url: str) -> bool:
    """Whether a link target is relative or has one of :data:`LINK_SCHEMES`."""
    target = "".join(url.split()).lower()  # "java\tscript:" is javascript: to a browser
    head = target.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if ":" not in head:
        return True
    return target.startswith(LINK_SCHEMES)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _allowed  # type: ignore[method-assign]
    return md


_MD = _markdown()


def render_body(text: str) -> str:
    """Markdown as HTML safe to put in a page (see the module's notes for what is rendered):
    markdown-it escapes every text and attribute it writes, so a template may mark it safe."""
    return _MD.render(text)
