"""Charts as SVG geometry: horizontal bars and a schematic tile map of the DPRK's provinces.

The geometry is computed here and drawn by a template macro, so a chart is plain markup: no
script, no inline style (the Content-Security-Policy forbids both), readable by a screen reader
through its title and the table beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 260
BAR_WIDTH = 380
HEAT_LEVELS = 6


#: characters of a label on one line of a bar chart (two lines at most, never cut short)
LABEL_CHARS = 34
LINE_HEIGHT = 14


@dataclass(frozen=True)
class Bar:
    """One bar: its label (in lines that fit the label column), count, and where it is drawn."""

    key: str
    label: str
    count: int
    y: int
    width: int
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: the bars drawn, every row (for the table beside it), and rows
    kept out of the bars (acts dated across several years: not one year's)."""

    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int
    rows: list[tuple[str, int]] = field(default_factory=list)
    left_out: list[tuple[str, int]] = field(default_factory=list)

    @property
    def cut(self) -> bool:
        """Whether the bars show fewer rows than the table."""
        return len(self.bars) < len(self.rows)


def label_lines(label: str, width: int = LABEL_CHARS) -> tuple[str, ...]:
    """A label broken between words into lines of ``width`` characters (a word longer than a
    line is its own line): the label is never cut short."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return tuple(lines) or ("",)


def bar_chart(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    limit: int = 15,
    left_out: Sequence[tuple[str, int]] = (),
) -> BarChart:
    """Bars for count rows (``{key: ..., "label": ..., "count": ...}``), largest first: the
    first ``limit`` drawn, every row in :attr:`BarChart.rows`."""
    every = list(rows)
    shown = every[:limit]
    top = max((int(r["count"]) for r in shown), default=0) or 1
    bars, y = [], 0
    for r in shown:
        lines = label_lines(str(r["label"]))
        bars.append(
            Bar(
                key=str(r[key]),
                label=str(r["label"]),
                count=int(r["count"]),
                y=y,
                width=max(1, round(BAR_WIDTH * int(r["count"]) / top)) if r["count"] else 0,
                lines=lines,
            )
        )
        y += BAR_HEIGHT + BAR_GAP + LINE_HEIGHT * (len(lines) - 1)
    height = max(BAR_HEIGHT, y)
    return BarChart(
        bars,
        LABEL_WIDTH + BAR_WIDTH + 80,
        height,
        LABEL_WIDTH,
        BAR_HEIGHT,
        [(str(r["label"]), int(r["count"])) for r in every],
        list(left_out),
    )


def year_chart(rows: Sequence[Mapping[str, Any]]) -> BarChart:
    """Bars per year in year order. Acts dated across several years, and undated ones, are
    no one year's: they are counted beside the chart (:attr:`BarChart.left_out`), not drawn
    as a bar that would dwarf the years."""
    years = sorted((r for r in rows if str(r["year"]).isdigit()), key=lambda r: str(r["year"]))
    rest = [(str(r["label"]), int(r["count"])) for r in rows if not str(r["year"]).isdigit()]
    return bar_chart(years, "year", limit=len(years), left_out=rest)


#: ISO 3166-2:KP code -> (column, row, columns wide, rows high) on a 5 x 4 grid, north up
PROVINCE_TILES: dict[str, tuple[int, int, int, int]] = {
    "KP-04": (1, 0, 1, 1),  # Chagang
    "KP-10": (2, 0, 1, 1),  # Ryanggang
    "KP-09": (3, 0, 1, 1),  # North Hamgyong
    "KP-13": (4, 0, 1, 1),  # Rason
    "KP-03": (0, 1, 1, 1),  # North Pyongan
    "KP-02": (1, 1, 1, 1),  # South Pyongan
    "KP-08": (2, 1, 2, 1),  # South Hamgyong
    "KP-14": (0, 2, 1, 1),  # Nampo
    "KP-01": (1, 2, 1, 1),  # Pyongyang
    "KP-06": (2, 2, 1, 1),  # North Hwanghae
    "KP-07": (3, 2, 1, 1),  # Kangwon
    "KP-05": (0, 3, 2, 1),  # South Hwanghae
    "KP-15": (2, 3, 1, 1),  # Kaesong
}
TILE = 112
TILE_GAP = 4


@dataclass(frozen=True)
class Tile:
    """One province on the schematic map."""

    code: str
    label: str
    count: int
    x: int
    y: int
    width: int
    height: int
    heat: int  # 0 (none) .. HEAT_LEVELS - 1 (most)


@dataclass(frozen=True)
class TileMap:
    """The schematic map."""

    tiles: list[Tile]
    width: int
    height: int
    unplaced: int  # acts whose province is not known


def province_map(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> TileMap:
    """Tiles for province count rows (``{"province": "KP-09", "count": ...}``).

    Args:
        rows: counts by province key.
        labels: province key -> its short name in the page's language.
    """
    counts = {str(r["province"]): int(r["count"]) for r in rows}
    top = max((counts.get(code, 0) for code in PROVINCE_TILES), default=0) or 1
    tiles = []
    for code, (col, row, wide, high) in PROVINCE_TILES.items():
        count = counts.get(code, 0)
        heat = 0 if count == 0 else 1 + min(HEAT_LEVELS - 2, (HEAT_LEVELS - 2) * count // top)
        tiles.append(
            Tile(
                code=code,
                label=labels.get(code, code),
                count=count,
                x=col * (TILE + TILE_GAP),
                y=row * (TILE + TILE_GAP),
                width=wide * TILE + (wide - 1) * TILE_GAP,
                height=high * TILE + (high - 1) * TILE_GAP,
                heat=heat,
            )
        )
    unplaced = sum(n for code, n in counts.items() if code not in PROVINCE_TILES)
    return TileMap(tiles, 5 * (TILE + TILE_GAP), 4 * (TILE + TILE_GAP), unplaced)
