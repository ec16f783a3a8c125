"""docs/library.md: its example runs as written, and the modules it names exist."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOC = Path(__file__).parent.parent / "docs" / "library.md"


def test_the_example_runs(capsys: object) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own document
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "45 rows imported" in out
    assert "observed 35 estimated 50" in out


def _resolve(dotted: str) -> object:
    """A module, or a name inside one: the longest importable prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_module_and_name_in_it_exists() -> None:
    named = set(re.findall(r"`(sillok(?:\.[a-z_]+)+)", DOC.read_text(encoding="utf-8")))
    assert "sillok.records.search" in named
    for dotted in named:
        _resolve(dotted)
