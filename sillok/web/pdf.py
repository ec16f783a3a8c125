"""PDFs from the pages' templates: the archive report, a record, a statement.

The HTML comes from Jinja templates that extend ``print_base.html`` and reuse the pages' macros
(the charts are the dashboard's inline SVG, so their labels and figures are real text); WeasyPrint
(BSD; the ``report`` extra) lays it out with the machine's Korean font (Nanum, from Debian's
``fonts-nanum``, named in ``static/print.css``). Nothing is fetched from anywhere: the
``url_fetcher`` refuses every address but ``data:`` and the print stylesheet, so a link or an
image in a statement's body can never make the renderer reach the network or read a file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sillok.errors import InvalidInput, SillokError
from sillok.estimate import EstimateSettings, OverlapTable, estimate, publish
from sillok.estimate.archive import overlap_tables
from sillok.records.report import Estimator, ReportData, ReportOptions, gather
from sillok.web import i18n
from sillok.web.charts import bar_chart, year_chart
from sillok.web.views import relabel

if TYPE_CHECKING:
    from sillok.archive import Archive


PRINT_CSS = Path(str(resources.files("sillok.web").joinpath("static", "print.css")))
MEDIA_TYPE = "application/pdf"
#: WeasyPrint styles an inline SVG with its own <style> only (not the page's stylesheets), so
#: the charts' rules are put into each chart (the pages' macros draw them with these classes)
SVG_STYLE = (
    "<style>.fill{fill:#2f6fa8}.label,.count{font-size:12px;fill:#111;"
    'font-family:"NanumGothic","Nanum Gothic",sans-serif}</style>'
)
_SVG_OPEN = re.compile(r"(<svg\b[^>]*>)")
#: the groupings of a report, in print order: (grouping, the key of its rows)
SECTIONS = (
    ("act_type", "act_type"),
    ("year", "year"),
    ("province", "province"),
    ("facility", "facility_type"),
    ("agency", "agency"),
)


class PdfUnavailable(SillokError):
    """WeasyPrint (or the system libraries it draws with) is not installed."""


def print_templates() -> Environment:
    """The pages' templates, loaded as the web application loads them (autoescaped)."""
    folder = Path(str(resources.files("sillok.web").joinpath("templates")))
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "svg", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def local_fetcher() -> Any:
    """WeasyPrint's ``url_fetcher`` for Sillok's PDFs: ``data:`` addresses only.

    Any other address (``http:``, ``https:``, ``file:``, ``ftp:``...) raises ``ValueError``
    inside WeasyPrint, which then leaves the resource out: a PDF never reaches the network or
    reads a file because of what a record or a statement says.
    """
    from weasyprint.urls import URLFetcher  # WeasyPrint: the `report` extra

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """A PDF of one HTML document, with the print stylesheet; nothing is fetched.

    Raises:
        PdfUnavailable: WeasyPrint is missing (naming the install command).
    """
    try:
        from weasyprint import CSS, HTML  # WeasyPrint: the `report` extra
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            f"PDFs need WeasyPrint and Pango: pip install 'sillok[report]' ({exc})"
        ) from None
    fetcher = local_fetcher()
    stylesheet = CSS(string=PRINT_CSS.read_text(encoding="utf-8"), url_fetcher=fetcher)
    html = _SVG_OPEN.sub(lambda m: m[1] + SVG_STYLE, html)
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=[stylesheet])
    return pdf


def render(env: Environment, template: str, lang: str, **context: Any) -> str:
    """A print template rendered in ``lang`` (the pages' ``_``)."""
    return env.get_template(template).render(_=i18n.translator(lang), lang=lang, **context)


def archive_estimator(archive: Archive, threshold: int) -> Estimator:
    """The estimate of ``sillok estimate ARCHIVE --lists FIELD --where ...`` with its defaults
    (log-linear models chosen by AIC), published under ``threshold``."""

    def run(where: list[str], lists: str) -> dict[str, Any]:
        table = overlap_tables(archive, lists, where)
        if not isinstance(table, OverlapTable):  # pragma: no cover - no ``by`` is given
            raise InvalidInput("a report estimates one table")
        return publish(estimate(table, EstimateSettings(threshold=threshold)), threshold)

    return run


def report_data(archive: Archive, options: ReportOptions) -> ReportData:
    """Counts and estimate of a report (:func:`sillok.records.report.gather`)."""
    return gather(
        archive.stats, archive.searcher, options, archive_estimator(archive, options.threshold)
    )


def report_html(archive: Archive, data: ReportData, env: Environment | None = None) -> str:
    """The report as HTML: the dashboard's charts with their tables, labels in its language."""
    lang = data.options.lang
    _ = i18n.translator(lang)
    titles = {
        "act_type": _("Acts by type"),
        "year": _("Acts by year"),
        "province": _("Acts by province"),
        "facility": _("Acts by facility type"),
        "agency": _("Acts by agency"),
    }
    charts = []
    for by, key in SECTIONS:
        rows = relabel(data.counts[by], by, key, archive, lang)
        chart = year_chart(rows) if by == "year" else bar_chart(rows, key)
        charts.append((by, titles[by], chart, rows))
    user = archive.user
    return render(
        env or print_templates(), "report.html", lang, data=data, charts=charts,
        who=user.name, role=user.role,
    )


def write_report(archive: Archive, options: ReportOptions, output: Path) -> ReportData:
    """Write the PDF report to ``output`` (in full or not at all), audited as an export.

    Raises:
        InvalidInput: an option or ``output`` is wrong (naming it); nothing is written.
        PdfUnavailable: WeasyPrint is missing.
    """
    output = Path(output)
    if output.suffix.lower() != ".pdf":
        raise InvalidInput(f"--output {str(output)!r}: a report is written as a .pdf file")
    if output.is_dir():
        raise InvalidInput(f"--output {str(output)!r}: is a folder, not a file")
    if not output.parent.is_dir():
        raise InvalidInput(f"--output {str(output)!r}: the folder {str(output.parent)!r} "
                           "does not exist")
    data = report_data(archive, options)
    save(output, html_to_pdf(report_html(archive, data)))
    archive.audit.record("export", detail={
        "format": "pdf report", "lang": options.lang, "acts": data.acts,
        "filters": [f"{option}={given}" for option, given in options.filters()],
    })
    return data


def save(output: Path, pdf: bytes) -> None:
    """Write ``pdf`` beside ``output`` and move it in place: a reader never sees half a file,
    and a failure leaves no file behind."""
    partial = output.with_name(f".{output.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        partial.write_bytes(pdf)
        os.replace(partial, output)
    except OSError as exc:
        raise InvalidInput(f"--output {str(output)!r}: cannot write ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)


def today() -> str:
    """Today's date (UTC), as a PDF's footer prints it."""
    return dt.datetime.now(dt.UTC).date().isoformat()
