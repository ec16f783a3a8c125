"""`sillok report ARCHIVE --output FILE.pdf`: counts and estimate as a PDF, its text real text."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import StreamObject
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput
from sillok.records.report import ReportOptions
from sillok.records.stats import GROUPINGS
from sillok.web.pdf import html_to_pdf, local_fetcher, write_report
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv
from tests.test_estimate_archive import overlapping_rows

ENV = {"SILLOK_PASSPHRASE": PASSPHRASE}


def pdf_text(pdf: bytes | Path) -> str:
    """The text of every page, as a reader's copy and paste gets it."""
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_bytes_decompressed(pdf: bytes) -> bytes:
    """The file and every stream in it, decompressed (text hidden in a stream included)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    chunks = [pdf]
    size = reader.trailer["/Size"]
    assert isinstance(size, int)
    for number in range(1, size):
        try:
            obj = reader.get_object(number)
        except Exception:  # a free entry of the cross-reference table
            continue
        if isinstance(obj, StreamObject):
            chunks.append(obj.get_data())
    return b"\n".join(chunks)


def table_lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


@pytest.fixture
def counted(archive: Archive, tmp_path: Path) -> Archive:
    """Three overlapping collections (an estimate is possible) and the Yodok testimonies."""
    archive.ingest.run(write_csv(tmp_path / "lists.csv", [*overlapping_rows(), *YODOK]))
    return archive


def _rows_shown(archive: Archive, data_counts: dict[str, list[dict]], lang: str) -> set[str]:
    from sillok.web.views import label

    keys = {"facility": "facility_type"}
    return {
        f"{label(by, row[keys.get(by, by)], archive, lang)} {row['count']}"
        for by in GROUPINGS
        for row in data_counts[by]
    }


def test_korean_report_shows_the_counts_of_stats(counted: Archive, tmp_path: Path) -> None:
    output = tmp_path / "report.pdf"
    data = write_report(counted, ReportOptions(lang="ko"), output)
    for by in GROUPINGS:
        assert data.counts[by] == counted.stats.count(by)
    text = pdf_text(output)
    assert "아카이브 보고서" in text and "유형별 행위" in text
    assert "고문" in text and "자의적 구금" in text  # act types by their Korean labels
    lines = table_lines(text)
    assert _rows_shown(counted, data.counts, "ko") <= lines
    assert "자의적 구금 68" in lines  # 65 in the lists, one at Yodok... as Stats counts them
    assert f"집계한 행위: {data.acts}" in lines and data.acts == 70
    # the estimate, its interval and its warnings, in the text
    assert data.estimate is not None and data.estimate["estimate"] is not None
    assert f"추정 총수: {data.estimate['estimate']:,.0f}" in lines
    assert "95% 프로파일 가능도 구간" in text  # the library's interval, said in Korean
    # and its warnings (a Korean line may break inside a word: compared without spaces)
    flat = "".join(text.split())
    assert "피해자기록하나를한사람으로세므로" in flat
    assert "eachvictimrecordcountsasoneperson" not in flat
    assert "방법론" in text and "유의 사항" in text
    assert b"0.184314 0.435294 0.658824 rg" in pdf_bytes_decompressed(output.read_bytes())  # bars
    # and the audit trail says who exported what
    exports = counted.audit.events(action="export")
    assert exports and exports[0]["detail"]["format"] == "pdf report"


def test_a_filter_narrows_every_count(counted: Archive, tmp_path: Path) -> None:
    options = ReportOptions(lang="en", date_from="2009", date_to="2009", place="요덕")
    data = write_report(counted, options, tmp_path / "yodok-2009.pdf")
    act_filter = counted.searcher.act_filter(date_from="2009", date_to="2009", place="요덕")
    for by in GROUPINGS:
        assert data.counts[by] == counted.stats.count(by, act_filter)
    everything = counted.stats.count("act_type")
    assert data.counts["act_type"] != everything
    text = pdf_text(tmp_path / "yodok-2009.pdf")
    lines = table_lines(text)
    assert _rows_shown(counted, data.counts, "en") <= lines
    assert "Torture 1" in lines and "Public execution 1" not in lines  # Hyesan, 2010
    assert {"--from 2009", "--to 2009", "--place 요덕"} <= lines
    assert f"Acts counted: {data.acts}" in lines and 0 < data.acts < 70


def test_cli_writes_an_english_report(counted: Archive, tmp_path: Path) -> None:
    counted.close()
    output = tmp_path / "report-en.pdf"
    result = CliRunner().invoke(
        app, ["report", str(counted.folder), "--output", str(output), "--lang", "en"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote {output}: 70 acts, estimate" in " ".join(result.stdout.split())
    text = pdf_text(output)
    for words in ("Report on the archive", "Acts by type", "Torture", "Arbitrary detention",
                  "Acts by agency", "Estimated total", "Methods", "Caveats"):
        assert words in text, words


def test_no_estimate_is_said_with_its_reason(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    # Only one collection (S): nothing to estimate from; the report is written all the same.
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    data = write_report(sqlcipher_archive, ReportOptions(lang="en"), tmp_path / "r.pdf")
    assert data.estimate is None or data.estimate["estimate"] is None
    assert data.warnings and data.warnings[0].startswith("no estimate")
    text = " ".join(pdf_text(tmp_path / "r.pdf").split())
    assert "No estimate: the data in this report do not support one." in text
    assert data.warnings[0][:40] in text
    assert "Torture 1" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "fr"], "--lang 'fr'"),
        (["--from", "2009-13-45"], "--from '2009-13-45'"),
        (["--to", "someday"], "--to 'someday'"),
        (["--from", "2012", "--to", "2009"], "--from '2012' is after --to '2009'"),
        (["--place", "Atlantis"], "--place: unknown place 'Atlantis'"),
        (["--lists", "colour"], "--lists 'colour'"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    sqlcipher_archive: Archive, tmp_path: Path, args: list[str], message: str
) -> None:
    sqlcipher_archive.ingest.run(write_csv(tmp_path / "yodok.csv", YODOK))
    sqlcipher_archive.close()
    out = tmp_path / "out"
    out.mkdir()
    result = CliRunner().invoke(
        app, ["report", str(sqlcipher_archive.folder), "--output", str(out / "r.pdf"), *args],
        env=ENV,
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert list(out.iterdir()) == []


def test_bad_output_is_named(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    for output, message in (
        (tmp_path / "report.txt", "a report is written as a .pdf file"),
        (tmp_path / "missing" / "report.pdf", "does not exist"),
    ):
        with pytest.raises(InvalidInput, match=message):
            write_report(sqlcipher_archive, ReportOptions(), output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["archive"]


def test_the_renderer_fetches_nothing_from_outside(tmp_path: Path) -> None:
    fetcher = local_fetcher()
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }", encoding="utf-8")
    for url in (secret.as_uri(), "http://127.0.0.1:9/x.png", "https://example.org/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    # a page that asks for outside files still renders, without them
    pdf = html_to_pdf(
        f'<p>본문 text</p><img src="{secret.as_uri()}"><img src="http://127.0.0.1:9/x.png">'
    )
    assert "본문 text" in pdf_text(pdf)


def test_the_korean_font_is_embedded(sqlcipher_archive: Archive, tmp_path: Path) -> None:
    pdf = html_to_pdf('<html lang="ko"><p>고문 torture</p></html>')
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts: set[str] = set()
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, dict)
        for font in resources["/Font"].get_object().values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    assert any("Nanum" in f for f in fonts), fonts
    assert "고문 torture" in pdf_text(pdf)


def test_a_report_as_lowest_role_sees_the_same_counts(
    counted: Archive, tmp_path: Path
) -> None:
    counted.users.add("viewer", "viewer", "viewer passphrase 1")
    folder = counted.folder
    counted.close()
    with Archive.open(folder, "viewer passphrase 1", FAST, user="viewer") as viewer:
        data = write_report(viewer, ReportOptions(lang="en"), tmp_path / "viewer.pdf")
        assert data.counts["act_type"] == viewer.stats.count("act_type")
    text = pdf_text(tmp_path / "viewer.pdf")
    # counts only: no narrative, name or informant of any record is in a report
    for secret in ("Witness Alpha", "Kim Yo-jong", "김여정", "Beaten during interrogation"):
        assert secret not in text
    assert "by viewer (Viewer)" in " ".join(text.split())
