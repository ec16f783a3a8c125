"""Library messages that pages say in their own language: a Message is its English text, keeps
its template and values, survives JSON and pickling, and every estimation message has Korean."""

from __future__ import annotations

import ast
import json
import pickle
from importlib import resources
from pathlib import Path
from string import Formatter

from hypothesis import given
from hypothesis import strategies as st

from sillok.messages import Message
from sillok.web.i18n import catalog, translator

TEMPLATE = "the chosen model fits poorly (deviance {deviance:.1f} on {df} df, p = {p:.2g})"


def test_a_message_is_its_english_text() -> None:
    said = Message(TEMPLATE, deviance=12.3598, df=3, p=0.0062)
    assert said == "the chosen model fits poorly (deviance 12.4 on 3 df, p = 0.0062)"
    assert json.loads(json.dumps({"w": [said]})) == {"w": [str(said)]}
    assert Message("no values {here}") == "no values {here}"  # a template without values


@given(st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False))
def test_pickling_keeps_template_and_values(text: str, n: int, x: float) -> None:
    said = Message("{text} / {n} / {x:.3f}", text=text, n=n, x=x)
    again = pickle.loads(pickle.dumps(said))
    assert again == said and again.template == said.template and again.values == said.values


def test_a_page_says_it_in_korean_and_falls_back_to_english() -> None:
    said = Message(TEMPLATE, deviance=12.3598, df=3, p=0.0062)
    korean = translator("ko")(said)
    assert korean == "고른 모형의 적합도가 낮습니다 (이탈도 12.4, 자유도 3, p = 0.0062)"
    assert translator("en")(said) == str(said)
    unknown = Message("a template no catalog knows {n}", n=1)
    assert translator("ko")(unknown) == "a template no catalog knows 1"
    assert said.say({TEMPLATE: "{missing} value"}) == str(said)  # a bad entry: English


def _templates(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Message"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_estimation_message_has_korean() -> None:
    folder = Path(str(resources.files("sillok.estimate")))
    templates = _templates(folder)
    assert len(templates) >= 25  # every warning, the interval names, the withheld notes
    korean = catalog("ko")
    missing = sorted(t for t in templates if t not in korean)
    assert missing == []
    for template in templates:  # each Korean template takes the same values
        assert _names(template) == _names(korean[template]), template


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}
