"""The design system in sillok/web/static/site.css (issue 14): its colour tokens reach WCAG AA
contrast for every text/background pair it declares, colours live in the tokens only, focus is
a visible 3 px ring, and every class a template uses is styled or named here as a hook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "sillok" / "web"
CSS = (WEB / "static" / "site.css").read_text(encoding="utf-8")
#: where the design system ends and the features' own small sections begin
MARKER = "/* feature rules below */"
DESIGN = CSS.split(MARKER)[0]
#: the pairs any page shows: each must be declared (and so computed)
REQUIRED_PAIRS = {
    ("text", "--ink", "--paper"), ("text", "--muted", "--paper"), ("text", "--muted", "--soft"),
    ("text", "--accent", "--paper"), ("text", "--accent-ink", "--accent"),
    ("text", "--band-ink", "--band"), ("text", "--warn", "--paper"),
    ("text", "--warn", "--warn-soft"), ("text", "--danger-ink", "--danger"),
    ("text", "--ok", "--ok-soft"), ("ui", "--field-line", "--paper"), ("ui", "--focus", "--paper"),
    ("ui", "--focus-on-band", "--band"),
}
#: classes that only mark structure for tests, JavaScript or the PDF stylesheet; their
#: elements are styled by element (fieldset, table, svg g) or need no style of their own
HOOKS = {
    "act", "event", "entry", "record-edit", "bar", "map", "print", "skip-pair", "posted",
    "attachments", "linkage", "merges", "counts", "chosen", "errors", "probability",
    "acts-total",
}


def tokens() -> dict[str, str]:
    """The custom properties of the first ``:root`` block, as written."""
    root = re.search(r":root\s*\{(.*?)\n\}", CSS, re.S)
    assert root, "site.css has no :root block"
    body = re.sub(r"/\*.*?\*/", "", root.group(1), flags=re.S)
    return dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", body))


def pairs() -> list[tuple[str, str, str]]:
    """The ``@contrast kind: --fg on --bg`` declarations in the tokens' comment."""
    return re.findall(r"@contrast (text|ui): (--[\w-]+) on (--[\w-]+)", CSS)


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of ``#rgb`` or ``#rrggbb``."""
    digits = hex_colour.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", digits), hex_colour

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_wcag() -> None:
    assert contrast("#000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # AA's grey
    assert contrast("#0b4f8a", "#0b4f8a") == pytest.approx(1.0)


@pytest.mark.parametrize(("kind", "fg", "bg"), pairs())
def test_each_declared_colour_pair_reaches_aa(kind: str, fg: str, bg: str) -> None:
    named = tokens()
    assert fg in named and bg in named, (fg, bg)
    ratio = contrast(named[fg], named[bg])
    least = 4.5 if kind == "text" else 3.0
    assert ratio >= least, f"{fg} {named[fg]} on {bg} {named[bg]}: {ratio:.2f} < {least}"


def test_the_pairs_pages_show_are_all_declared() -> None:
    assert REQUIRED_PAIRS - set(pairs()) == set()


def test_colours_are_written_only_in_the_tokens() -> None:
    outside = re.sub(r":root\s*\{[^{}]*\}", "", re.sub(r"/\*.*?\*/", "", DESIGN, flags=re.S))
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b", outside) == []


def test_the_scales_are_tokens() -> None:
    named = tokens()
    for prefix, least in (("--step-", 6), ("--space-", 7), ("--radius", 2), ("--shadow-", 2)):
        assert len([n for n in named if n.startswith(prefix)]) >= least, prefix


def test_focus_is_a_visible_three_pixel_ring_and_korean_breaks_between_words() -> None:
    assert tokens()["--focus-ring"].startswith("3px solid")
    assert re.search(r":focus-visible\s*\{\s*outline:\s*var\(--focus-ring\)", DESIGN)
    assert re.search(r"html:lang\(ko\)\s*\{[^}]*word-break:\s*keep-all", DESIGN)
    assert CSS.count(MARKER) == 1


def test_every_class_a_template_uses_is_styled_or_a_known_hook() -> None:
    used: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        # a computed part reads as 0 ("heat-{{ tile.heat }}" is checked as heat-0)
        text = re.sub(r"\{\{.*?\}\}", "0", template.read_text(encoding="utf-8"))
        text = re.sub(r"\{%.*?%\}", " ", text)
        for names in re.findall(r'class="([^"]*)"', text):
            used.update(name for name in names.split() if not name[0].isdigit())
    unstyled = {
        name for name in used - HOOKS
        if not re.search(r"\." + re.escape(name) + r"(?![\w-])", CSS)
    }
    assert unstyled == set(), "style these classes or add them to HOOKS"
