"""The public site as files (``sillok publish site ARCHIVE --output DIR``).

The same pages as the live site, rendered by the same templates from the same library calls
(:mod:`sillok.web.public_pages`), for the anonymous visitor (:data:`~sillok.web.access.NOBODY`):
published statements only, and of their related events only the public ones. Links are
relative (:class:`~sillok.web.public_pages.StaticLinks`), so the folder works from any file
server and opened from disk; the pages need no server (no login, forms or scripts).

The folder holds::

    index.html                 the home page in Korean (the site's first language)
    ko/index.html, en/...      the home page, then per language:
    ko/news/index.html         the news list, page-2.html, ...; kind-news.html, member-12.html
    ko/news/5.html             one page per published item (and so per translation)
    news/feed.xml              the Atom feed
    static/site.css, static/logo.png

It is written in a temporary folder beside ``DIR`` and moved into place at the end: a failure
leaves no half-written site, and ``--force`` replaces an existing one only once the new one is
whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sillok.errors import InvalidInput
from sillok.records.site import Site, SiteSettings
from sillok.records.statement_listing import PAGE_MAX, STATEMENT_KINDS, Statement
from sillok.web.access import NOBODY
from sillok.web.feed import FeedInfo, atom_feed
from sillok.web.i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, translator
from sillok.web.public_pages import (
    FEED_ITEMS,
    StaticLinks,
    home_context,
    list_file,
    news_item_context,
    news_list_context,
    page_context,
)

if TYPE_CHECKING:
    from sillok.archive import Archive

PAGE_SIZE = 20
FEED_FILE = "news/feed.xml"


class OutputExists(InvalidInput):
    """The output folder exists, is not empty, and ``force`` was not given."""


@dataclass
class SiteReport:
    """What ``write`` wrote."""

    output: Path
    items: int = 0
    pages: int = 0
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"output": str(self.output), "items": self.items, "pages": self.pages}


def templates() -> Environment:
    """The web package's templates, set up as the live site sets them up."""
    folder = Path(str(resources.files("sillok.web").joinpath("templates")))
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "svg", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


class StaticSite:
    """The public pages of an archive written as a folder of files (``StaticSite(archive)``)."""

    def __init__(self, archive: Archive, page_size: int = PAGE_SIZE) -> None:
        self.archive = archive
        self.statements = archive.statements
        self.page_size = max(1, min(page_size, PAGE_MAX))
        self.env = templates()

    def check(self, output: Path, force: bool = False) -> None:
        """Refuse, before anything is written, a role without the publish right or an output
        folder that exists and is not empty (unless ``force``).

        Raises:
            PublishRightNeeded: naming the role and the right.
            OutputExists: naming the folder.
            InvalidInput: the folder to write in does not exist, or the output is a file.
        """
        Site(self.archive.vault).check_publish_right("publish the public site")
        if not output.parent.is_dir():
            raise InvalidInput(f"{output.parent}: no such folder to write {output.name} in")
        if output.exists() and not output.is_dir():
            raise OutputExists(f"{output} is a file, not a folder")
        if output.is_dir() and any(output.iterdir()) and not force:
            raise OutputExists(f"{output} exists and is not empty: use --force to replace it")

    def write(self, output: Path, force: bool = False, base_url: str | None = None) -> SiteReport:
        """Write the site into ``output`` (see the module's docstring), all or nothing.

        ``base_url`` is where the site will be served (``https://example.org/news-site``):
        with it the feed and the Open Graph tags carry absolute addresses; without it the
        settings' address is used, and without that the feed's links are relative to it.

        Raises:
            PublishRightNeeded, OutputExists, InvalidInput: see :meth:`check`.
        """
        output = Path(output)
        self.check(output, force)
        site = Site(self.archive.vault)
        settings = site.settings()
        base = (base_url or settings.url or "").rstrip("/") or None
        report = SiteReport(output)
        work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
        try:
            self._write_all(work, site, settings, base, report)
            _move_into_place(work, output)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return report

    # --- the parts ------------------------------------------------------------------------

    def _write_all(
        self, work: Path, site: Site, settings: SiteSettings, base: str | None, report: SiteReport
    ) -> None:
        static = Path(str(resources.files("sillok.web").joinpath("static")))
        (work / "static").mkdir()
        shutil.copyfile(static / "site.css", work / "static" / "site.css")
        logo = site.logo()
        if logo is not None:
            (work / "static" / f"logo.{logo.extension}").write_bytes(logo.data)
        items = list(self._published())
        report.items = len(items)
        members = [m.id for m in self.statements.members()]
        for lang in LANGUAGES:
            self._page(work, report, lang, f"{lang}/index.html", "home.html", settings, base,
                       home_context(self.statements, NOBODY, lang))
            for kind, member in [(None, None), *((k, None) for k in STATEMENT_KINDS),
                                 *((None, m) for m in members)]:
                self._list(work, report, lang, settings, base, kind, member)
        for item in items:
            # read once, written in each language
            context = news_item_context(self.statements, NOBODY, item.id)
            for lang in LANGUAGES:
                if base:
                    context["canonical"] = f"{base}/{lang}/news/{item.id}.html"
                self._page(work, report, lang, f"{lang}/news/{item.id}.html", "news_item.html",
                           settings, base, context)
        self._page(work, report, DEFAULT_LANGUAGE, "index.html", "home.html", settings, base,
                   home_context(self.statements, NOBODY, DEFAULT_LANGUAGE))
        self._feed(work, settings, base, items[:FEED_ITEMS])

    def _published(self) -> Iterator[Statement]:
        """Every published item, newest first, in every language."""
        offset = 0
        while True:
            listing = self.statements.page(published_only=True, offset=offset, limit=PAGE_MAX)
            yield from listing.items
            if not listing.has_next:
                return
            offset += len(listing.items)

    def _list(
        self,
        work: Path,
        report: SiteReport,
        lang: str,
        settings: SiteSettings,
        base: str | None,
        kind: str | None,
        member: int | None,
    ) -> None:
        page = 1
        while True:
            context = news_list_context(
                self.statements, NOBODY, lang, page, self.page_size, kind, member
            )
            path = f"{lang}/news/{list_file(page, kind, member)}"
            self._page(work, report, lang, path, "news_list.html", settings, base, context)
            if not context["listing"].has_next:
                return
            page += 1

    def _page(
        self,
        work: Path,
        report: SiteReport,
        lang: str,
        path: str,
        template: str,
        settings: SiteSettings,
        base: str | None,
        context: dict[str, Any],
    ) -> None:
        """Render one page as the anonymous visitor sees it and write it at ``path``."""
        links = StaticLinks(lang, path)
        html = self.env.get_template(template).render(
            _=translator(lang),
            lang=lang,
            languages=LANGUAGE_NAMES,
            principal=NOBODY,
            may=lambda action, kind=None: False,
            csrf="",
            path="",
            here="",
            **page_context(lang, links, settings, base),
            **context,
        )
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        report.pages += 1
        report.files.append(path)

    def _feed(
        self, work: Path, settings: SiteSettings, base: str | None, items: list[Statement]
    ) -> None:
        meta = self.archive.meta()
        lang = DEFAULT_LANGUAGE
        _ = translator(lang)

        def item_url(sid: int) -> str:
            # relative to the feed (news/feed.xml) without a base address
            return f"{base}/{lang}/news/{sid}.html" if base else f"../{lang}/news/{sid}.html"

        info = FeedInfo(
            title=f"{settings.name(lang) or _('Sillok')}: "
            f"{settings.section(lang) or _('Statements and news')}",
            archive_id=meta.get("archive_id", "archive"),
            created=meta.get("created_at", "1970-01-01T00:00:00+00:00"),
            self_url=f"{base}/{FEED_FILE}" if base else "feed.xml",
            home_url=f"{base}/{lang}/news/index.html" if base else f"../{lang}/news/index.html",
            item_url=item_url,
            author=settings.name(lang) or _("Sillok"),
        )
        target = work / FEED_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(atom_feed(info, items))


def _move_into_place(work: Path, output: Path) -> None:
    """Put the finished folder where the site goes, replacing an old one only now."""
    os.chmod(work, 0o755)  # mkdtemp makes it private; a site is to be served
    if not output.exists():
        os.replace(work, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.old.", dir=output.parent))
    os.replace(output, old / "site")
    os.replace(work, output)
    shutil.rmtree(old, ignore_errors=True)
