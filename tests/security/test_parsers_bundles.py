"""Red team, issue 12 finding 10: ``verify_bundle`` and ``sillok proof verify`` refuse a
malformed proof bundle with :class:`BundleError` (exit code 2 and a message on the command
line), never a traceback, and never accept a bundle whose record id or version is not an
integer.

Each test makes the attack and asserts the safe outcome; the ones that failed before the fix
were marked ``xfail(strict=True)``, and the markers came off with it. The files come from
``tests/data/hostile/make.py``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sillok.cli import app
from sillok.custody.proofs import BundleCheck, BundleError, verify_bundle
from tests.security.conftest import HOSTILE, make

runner = CliRunner()



@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A proof bundle of act 1 from a fresh archive; it verifies."""
    bundle: dict[str, Any] = make.good_bundle(tmp_path_factory.mktemp("bundle"))
    assert isinstance(verify_bundle(copy.deepcopy(bundle)), BundleCheck)
    return bundle


def _salt(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        bundle["salts"][sorted(bundle["salts"])[0]] = value

    return change


def _at(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


#: name -> (how the bundle is spoiled, how it failed before issue 12, or None: refused before)
SPOILED: dict[str, tuple[Callable[[dict[str, Any]], None], str | None]] = {
    "salt not hex": (_salt("zz" + "00" * 31), "ValueError from bytes.fromhex"),
    "salt a number": (_salt(5), "ValueError from bytes.fromhex"),
    "inclusion_proof a number": (_at("inclusion_proof", value=5), "TypeError: not iterable"),
    "inclusion_proof true": (_at("inclusion_proof", value=True), "TypeError: not iterable"),
    "record.id true": (_at("record", "id", value=True), "accepted: 'act True' VERIFIED"),
    "record.version true": (_at("record", "version", value=True), "accepted as version True"),
    "record.kind a list": (
        _at("record", "kind", value=[]),
        "TypeError: unhashable (found by the fuzz test below)",
    ),
    "record.table an object": (
        _at("record", "table", value={}),
        "TypeError: unhashable (found by the fuzz test below)",
    ),
    "inclusion_proof an object": (_at("inclusion_proof", value={"a": 1}), None),
    "entry.index true": (_at("entry", "index", value=True), None),
    "record.id a float": (_at("record", "id", value=1.0), None),
    "fields a list": (_at("fields", value=[1]), None),
    "checkpoint a number": (_at("checkpoint", value=7), None),
}


def _cases() -> list[Any]:
    return [pytest.param(name, id=name.replace(" ", "-")) for name in SPOILED]


def spoiled(good: dict[str, Any], name: str) -> dict[str, Any]:
    bad = copy.deepcopy(good)
    SPOILED[name][0](bad)
    return bad


@pytest.mark.parametrize("name", _cases())
def test_a_spoiled_bundle_is_refused_with_a_bundle_error(good: dict[str, Any], name: str) -> None:
    """``verify_bundle`` raises BundleError, with a message, for each spoiled bundle."""
    with pytest.raises(BundleError) as caught:
        verify_bundle(spoiled(good, name))
    assert str(caught.value)


@pytest.mark.parametrize("name", _cases())
def test_proof_verify_refuses_a_spoiled_bundle_without_a_traceback(
    good: dict[str, Any], name: str, tmp_path: Path
) -> None:
    """``sillok proof verify FILE``: exit code 1 or 2, a one-line error, no exception."""
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(spoiled(good, name)), encoding="utf-8")
    result = runner.invoke(app, ["proof", "verify", str(path)], env={})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback: {result.exception!r}"
    )
    assert result.exit_code in (1, 2), result.stdout
    assert "VERIFIED" not in result.stdout
    assert "error:" in result.stderr


#: the committed regression bundles, and how each failed before issue 12
HOSTILE_BUNDLES = {
    "bundle-salt-not-hex.json": "ValueError traceback",
    "bundle-proof-not-a-list.json": "TypeError traceback",
    "bundle-id-true.json": "VERIFIED, exit code 0",
}


def test_the_regression_bundles_are_listed() -> None:
    assert set(HOSTILE_BUNDLES) == set(make.BUNDLE_CHANGES)
    assert all((HOSTILE / name).is_file() for name in HOSTILE_BUNDLES)


@pytest.mark.parametrize("name", sorted(HOSTILE_BUNDLES))
def test_proof_verify_refuses_a_regression_bundle(name: str) -> None:
    """The files in tests/data/hostile: exit code 2, an error message, no exception."""
    result = runner.invoke(app, ["proof", "verify", str(HOSTILE / name)], env={})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback: {result.exception!r}"
    )
    assert result.exit_code == 2, result.stdout
    assert "error:" in result.stderr


# --- any change, any bytes ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@st.composite
def changes(draw: st.DrawFn) -> tuple[tuple[str, ...], Any]:
    """A path into a bundle (top level or one level down) and a new JSON value for it."""
    top = draw(
        st.sampled_from(
            ["format", "record", "fields", "salts", "withheld", "entry", "inclusion_proof",
             "checkpoint", "verifier_key"]
        )
    )
    second = {
        "record": ["kind", "table", "id", "version"],
        "entry": ["index", "op", "canonical"],
        "fields": ["id", "act_type", "description", "sharing", "version"],
        "salts": ["description", "victim_id"],
    }.get(top)
    path = (top,) if not second or draw(st.booleans()) else (top, draw(st.sampled_from(second)))
    return path, draw(json_values)


@example(change=(("salts", "description"), "zz"))
@example(change=(("inclusion_proof",), 5))
@example(change=(("record", "kind"), []))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=changes())
def test_any_change_to_a_bundle_verifies_or_is_refused(
    good: dict[str, Any], change: tuple[tuple[str, ...], Any]
) -> None:
    """Property: a bundle with any one value replaced verifies or raises BundleError; and
    when it verifies, the record's id and version are true integers."""
    path, value = change
    bad = copy.deepcopy(good)
    target = bad
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value
    try:
        result = verify_bundle(bad)
    except BundleError:
        return
    if isinstance(result, BundleCheck):
        assert type(result.record_id) is int and type(result.version) is int


@settings(max_examples=100, deadline=None)  # each example runs the whole command
@given(data=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_given_to_proof_verify_are_refused_cleanly(data: bytes) -> None:
    """Property: ``sillok proof verify`` on any bytes exits 2 with an error, never a
    traceback. Holds today; a guard."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.json"
        path.write_bytes(data)
        result = runner.invoke(app, ["proof", "verify", str(path)], env={})
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback: {result.exception!r}"
    )
    assert result.exit_code == 2
    assert "error:" in result.stderr
