"""Weak passphrases are refused where an archive's keys are first wrapped under them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.errors import InvalidInput
from sillok.security.passphrases import check_strength
from tests.conftest import FAST, PASSPHRASE

WEAK = ["a", "password1", "qwerty123", "sillok2026", "kimyongchol"]


@pytest.mark.parametrize("weak", WEAK)
def test_weak_passphrases_are_refused_at_init(weak: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="too easy to guess") as caught:
        Archive.create(tmp_path / "a", weak, settings=FAST)
    assert len(weak) < 3 or weak not in str(caught.value)  # never repeated back
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


def test_the_name_of_the_user_and_folder_count_as_known() -> None:
    check_strength("orchard-lantern-9")
    with pytest.raises(InvalidInput):
        check_strength("orchard-lantern-9", ["orchard-lantern-9"])


def test_init_on_the_command_line_says_why(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["init", str(tmp_path / "a")], env={"SILLOK_PASSPHRASE": "a"}
    )
    assert result.exit_code == 2
    assert "too easy to guess" in result.stderr and "Traceback" not in result.output


def test_a_strong_passphrase_is_accepted(tmp_path: Path) -> None:
    Archive.create(tmp_path / "a", PASSPHRASE, settings=FAST).close()
    assert (tmp_path / "a" / "keys.json").is_file()


@pytest.mark.parametrize("length", [72, 73, 100, 500])
def test_a_long_passphrase_or_name_is_judged_not_crashed_on(length: int) -> None:
    """zxcvbn raises ValueError past 72 characters; a long passphrase (or a long user name among
    the known words) is judged on its first 72 characters instead of a traceback."""
    words = "river lantern quietly orbit mango "
    passphrase = (words * 20)[:length]
    assert check_strength(passphrase, known=["u" * length]) == passphrase
    with pytest.raises(InvalidInput):
        check_strength("a" * length, known=["k" * length])
