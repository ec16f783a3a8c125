"""The documentation tells the truth: settings, commands, README."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import typer.main

from sillok.cli import app
from sillok.settings import KdfParams, Settings

ROOT = Path(__file__).parent.parent


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "settings.md").read_text("utf-8")
    for field in dataclasses.fields(Settings):
        assert f"`{field.name}`" in docs, field.name
    for field in dataclasses.fields(KdfParams):
        assert f"`kdf.{field.name}`" in docs, field.name


def test_documented_defaults_match_the_code() -> None:
    docs = (ROOT / "docs" / "settings.md").read_text("utf-8")
    settings = Settings()
    for name in ("actor", "import_batch_size", "search_limit"):
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{name}`"))
        assert str(getattr(settings, name)) in row, name
    for field in dataclasses.fields(KdfParams):
        row = next(line for line in docs.splitlines() if line.startswith(f"| `kdf.{field.name}`"))
        assert str(getattr(settings.kdf, field.name)) in row, field.name


def test_readme_starts_with_what_sillok_is_then_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert readme.startswith("# Sillok")
    first_block = readme[readme.index("```") : readme.index("```", readme.index("```") + 3)]
    assert "make run" in first_block and "make test" in first_block
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_sillok_command_in_the_docs_exists() -> None:
    group = typer.main.get_command(app)
    known = set(group.commands)  # type: ignore[attr-defined]
    texts = [(ROOT / "README.md").read_text("utf-8")]
    texts += [p.read_text("utf-8") for p in (ROOT / "docs").glob("*.md")]
    used = {m for text in texts for m in re.findall(r"`sillok ([a-z]+)", text)}
    used |= {m for text in texts for m in re.findall(r"^sillok ([a-z]+)", text, re.M)}
    assert used, "no commands found in the docs"
    assert used <= known, used - known
