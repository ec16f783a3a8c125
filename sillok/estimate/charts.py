"""Charts of estimates: observed vs estimated per stratum, with interval bars, as SVG.

The SVG is written by hand (no plotting library needed) from the *published* form of a result,
so a chart can never show a count that small-cell protection withheld.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

_WIDTH = 760
_LEFT = 180
_RIGHT = 40
_TOP = 86
_ROW = 34
_OBSERVED = "#6b6b6b"
_ESTIMATE = "#1f4e99"


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (steps of 1, 2 or 5 times 10^k)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(ticks[-1] + step)
    return ticks


def render_svg(published: dict[str, Any]) -> str:
    """Draw a published result (from :func:`sillok.estimate.disclosure.publish`) as SVG."""
    rows = [(s["stratum"], s) for s in published.get("strata", [])]
    rows.append(("Total" if rows else "All", published))
    values = [v for _, r in rows for v in (r["estimate"], r["lower"], r["upper"],
                                           r["observed"])
              if isinstance(v, int | float) and not isinstance(v, bool)]
    unbounded = any(r["estimate"] is not None and r["upper"] is None for _, r in rows)
    # leave room for an unbounded interval's arrow to run past every finite value
    ticks = nice_ticks(max(values, default=1.0) * (1.25 if unbounded else 1.0))
    scale_max = ticks[-1]
    plot_width = _WIDTH - _LEFT - _RIGHT
    height = _TOP + _ROW * len(rows) + 50

    def x(value: float) -> float:
        return _LEFT + plot_width * value / scale_max

    title = "Observed and estimated totals"
    if published.get("by"):
        title += f" by {published['by']}"
    subtitle = f"{published.get('method', '')}: {published.get('interval', '')}".strip(": ")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_WIDTH}" height="{height}" fill="white"/>',
        f'<text x="12" y="22" font-size="16" font-weight="bold">{escape(title)}</text>',
        f'<text x="12" y="40" fill="#444">{escape(subtitle)}</text>',
        f'<rect x="{_LEFT}" y="50" width="9" height="9" fill="{_OBSERVED}"/>',
        f'<text x="{_LEFT + 14}" y="59">observed (on at least one list)</text>',
        f'<circle cx="{_LEFT + 240}" cy="55" r="5" fill="{_ESTIMATE}"/>',
        f'<line x1="{_LEFT + 226}" y1="55" x2="{_LEFT + 254}" y2="55" '
        f'stroke="{_ESTIMATE}" stroke-width="2"/>',
        f'<text x="{_LEFT + 260}" y="59">estimate and interval</text>',
    ]
    axis_y = _TOP + _ROW * len(rows)
    for tick in ticks:
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{_TOP - 8}" x2="{tx:.1f}" y2="{axis_y}" '
                     'stroke="#e3e3e3"/>')
        parts.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">'
                     f"{tick:,.0f}</text>")
    for i, (label, row) in enumerate(rows):
        cy = _TOP + _ROW * i + _ROW / 2
        weight = ' font-weight="bold"' if i == len(rows) - 1 and len(rows) > 1 else ""
        parts.append(f'<text x="{_LEFT - 10}" y="{cy + 4:.1f}" text-anchor="end"{weight}>'
                     f"{escape(str(label))}</text>")
        parts.extend(_row_marks(row, cy, x, _WIDTH - _RIGHT))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _row_marks(row: dict[str, Any], cy: float, x: Any, right_edge: float) -> list[str]:
    estimate, lower, upper = row["estimate"], row["lower"], row["upper"]
    observed = row["observed"]
    if not isinstance(observed, int):
        return [f'<text x="{_LEFT + 4}" y="{cy + 4:.1f}" fill="#777" font-style="italic">'
                "withheld (small counts)</text>"]
    marks = [f'<rect x="{x(observed) - 4.5:.1f}" y="{cy - 4.5:.1f}" width="9" height="9" '
             f'fill="{_OBSERVED}"><title>observed {observed:,}</title></rect>']
    if estimate is None:
        marks.append(f'<text x="{x(observed) + 10:.1f}" y="{cy + 4:.1f}" fill="#777" '
                     'font-style="italic">not estimated</text>')
        return marks
    if lower is not None:
        end = x(upper) if upper is not None else right_edge
        marks.append(f'<line x1="{x(lower):.1f}" y1="{cy:.1f}" x2="{end:.1f}" y2="{cy:.1f}" '
                     f'stroke="{_ESTIMATE}" stroke-width="2"/>')
        marks.append(f'<line x1="{x(lower):.1f}" y1="{cy - 6:.1f}" x2="{x(lower):.1f}" '
                     f'y2="{cy + 6:.1f}" stroke="{_ESTIMATE}" stroke-width="2"/>')
        if upper is not None:
            marks.append(f'<line x1="{end:.1f}" y1="{cy - 6:.1f}" x2="{end:.1f}" '
                         f'y2="{cy + 6:.1f}" stroke="{_ESTIMATE}" stroke-width="2"/>')
        else:
            marks.append(f'<path d="M{end - 8:.1f},{cy - 5:.1f} L{end:.1f},{cy:.1f} '
                         f'L{end - 8:.1f},{cy + 5:.1f}" fill="none" stroke="{_ESTIMATE}" '
                         'stroke-width="2"><title>no upper end</title></path>')
    span = (f"{lower:,.0f} to {upper:,.0f}" if lower is not None and upper is not None
            else "no finite upper end")
    marks.append(f'<circle cx="{x(estimate):.1f}" cy="{cy:.1f}" r="5" fill="{_ESTIMATE}">'
                 f"<title>estimate {estimate:,.0f} ({escape(span)})</title></circle>")
    return marks


def write_chart(published: dict[str, Any], path: str | Path) -> Path:
    """Write the chart of a published result; the file name must end in ``.svg``.

    Raises:
        ValueError: another format was asked for.
    """
    target = Path(path)
    if target.suffix.lower() != ".svg":
        raise ValueError(f"chart {target.name}: only .svg charts are written (got "
                         f"'{target.suffix or 'no suffix'}')")
    target.write_text(render_svg(published), encoding="utf-8")
    return target
