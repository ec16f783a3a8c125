"""Small named synthetic datasets for the tests (no real person's data)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from sillok.records.flatacts import COLUMNS


def row(**values: str) -> dict[str, str]:
    """A flat act row with every column, the given ones set."""
    unknown = set(values) - set(COLUMNS)
    assert not unknown, unknown
    return {c: values.get(c, "") for c in COLUMNS}


#: two testimonies about one invented detainee at the Yodok camp, in Korean and English
YODOK = [
    row(
        source_ref="S-001",
        source_type="testimony",
        source_date="2015년 3월",
        informant="Witness Alpha",
        event_ref="E-001",
        event_title="요덕 수용소 구금",
        act_type="arbitrary_detention",
        act_date="2009년 3월",
        place="요덕",
        facility="요덕 제15호 관리소",
        victim_ref="V-001",
        victim_name="Kim Yo-jong",
        victim_name_hangul="김여정",
        victim_sex="female",
        victim_birth="around 1960",
        victim_origin="함경북도",
        perpetrator_org="보위부",
        description="요덕수용소에 수감되었다",
        sharing="internal",
    ),
    row(
        source_ref="S-001",
        source_type="testimony",
        source_date="2015년 3월",
        informant="Witness Alpha",
        event_ref="E-001",
        event_title="요덕 수용소 구금",
        act_type="고문",
        act_date="2009",
        place="Yodok",
        facility="kwanliso",
        victim_ref="V-001",
        victim_name="Kim Yo-jong",
        victim_name_hangul="김여정",
        victim_sex="female",
        victim_birth="around 1960",
        perpetrator_org="Bowibu",
        perpetrator_name="Pak Chol",
        description="Beaten during interrogation",
        sharing="confidential",
    ),
    row(
        source_ref="S-002",
        source_type="interview",
        source_date="2018",
        event_ref="E-002",
        event_title="Public execution in Hyesan",
        act_type="public_execution",
        act_date="spring 2010",
        place="혜산",
        victim_name="Ri Chol-su",
        victim_sex="male",
        victim_birth="1970년대",
        perpetrator_org="Ministry of Social Security",
        description="공개처형을 목격했다고 증언",
        sharing="public",
    ),
]


def write_csv(
    path: Path, rows: Iterable[Mapping[str, str]], bom: bool = False, crlf: bool = False
) -> Path:
    """Write rows as a flat acts CSV."""
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\r\n" if crlf else "\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
    return path
