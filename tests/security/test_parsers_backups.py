"""Red team, issue 12 finding 10 (backups): ``check_manifest`` and ``sillok restore`` refuse a
hostile backup manifest with :class:`BackupError` naming the file and the member, never a
traceback, and a refused restore leaves no folder behind.

The attacker hands the administrator a backup folder (a stick, a shared drive): they may
write anything into its ``manifest.json``. Before issue 12, ``manifest.json`` nested deeply
raised RecursionError, a ``checkpoint`` that was not a string raised TypeError, a ``files``
array raised TypeError, and a manifest without ``row_counts`` passed the file check, then raised
KeyError inside the restore and left the half-restored folder in place.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sillok.archive import Archive
from sillok.cli import app
from sillok.custody.backup import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    BackupError,
    FolderReplica,
    check_manifest,
)
from sillok.errors import SillokError
from tests.conftest import FAST, PASSPHRASE
from tests.datasets import YODOK, write_csv

runner = CliRunner()


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A backup of the Yodok testimonies; it checks and restores."""
    folder = tmp_path_factory.mktemp("good")
    with Archive.create(folder / "archive", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(folder / "yodok.csv", YODOK))
        archive.backups.backup(folder / "bk")
    check_manifest(folder / "bk")
    yield folder / "bk"


def manifest_of(backup: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    return data


def hostile_copy(good: Path, to: Path, manifest: bytes) -> Path:
    """A copy of the good backup with ``manifest`` as its manifest.json."""
    shutil.copytree(good, to)
    (to / MANIFEST).write_bytes(manifest)
    return to


def _set(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(name: str) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        del manifest[name]

    return change


#: stands for an array nested 100,000 deep (``json.dumps`` itself cannot write one)
NESTED = "<an array nested 100,000 deep>"


#: name -> (how the manifest is spoiled, the member the error must name, how main failed)
SPOILED: dict[str, tuple[Callable[[dict[str, Any]], None], str, str | None]] = {
    "checkpoint a number": (_set("checkpoint", value=7), "checkpoint", "TypeError traceback"),
    "checkpoint null": (_set("checkpoint", value=None), "checkpoint", "TypeError traceback"),
    "verifier_key a list": (_set("verifier_key", value=["k"]), "verifier_key", "traceback"),
    "files an array": (_set("files", value=["archive.db"]), "files", "TypeError traceback"),
    "files a string": (_set("files", value="archive.db"), "files", "TypeError traceback"),
    "row_counts missing": (_drop("row_counts"), "row_counts", "KeyError; folder left behind"),
    "row_counts an array": (_set("row_counts", value=[]), "row_counts", "AttributeError"),
    "row count a string": (_set("row_counts", "acts", value="3"), "row_counts['acts']", None),
    "row count true": (_set("row_counts", "acts", value=True), "row_counts['acts']", None),
    "row count past 2**63": (_set("row_counts", "acts", value=2**64), "row_counts['acts']", None),
    "row count negative": (_set("row_counts", "acts", value=-1), "row_counts['acts']", None),
    "tree_size missing": (_drop("tree_size"), "tree_size", None),
    "tree_size huge": (_set("tree_size", value=10**300), "tree_size", None),
    "tree_size a float": (_set("tree_size", value=1e400), "tree_size", None),
    "tree_size true": (_set("tree_size", value=True), "tree_size", None),
    "root not hex": (_set("root", value="zz" * 32), "root", None),
    "root a number": (_set("root", value=5), "root", None),
    "digest not hex": (_set("files", "archive.db", value="g" * 64), "files['archive.db']", None),
    "digest upper case": (
        _set("files", "archive.db", value="A" * 64), "files['archive.db']", None
    ),
    "digest a number": (_set("files", "archive.db", value=0), "files['archive.db']", None),
    "file name ../": (_set("files", "../../etc/passwd", value="0" * 64), "../../etc/passwd", None),
    "file name absolute": (_set("files", "/etc/passwd", value="0" * 64), "/etc/passwd", None),
    "file name ./": (_set("files", "./archive.db", value="0" * 64), "./archive.db", None),
    "file name empty": (_set("files", "", value="0" * 64), "files['']", None),
    "file name a backslash": (_set("files", "..\\keys.json", value="0" * 64), "keys.json", None),
    "file name the manifest": (_set("files", MANIFEST, value="0" * 64), MANIFEST, None),
    "made_at missing": (_drop("made_at"), "made_at", None),
    "origin another": (_set("origin", value="sillok/other"), "origin", None),
    "origin a number": (_set("origin", value=1), "origin", None),
    "format another": (_set("format", value="sillok-backup/9"), "format", None),
    "deep nesting inside": (_set("files", value=NESTED), "nested too deeply", "Recursion"),
}

#: whole manifests that are not a manifest at all -> what the error must say
RAW: dict[str, tuple[bytes, str]] = {
    "deeply nested array": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "deeply nested object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "an integer of 5000 digits": (b"9" * 5000, "not JSON"),
    "not UTF-8": (b'{"format": "\xff"}', "not UTF-8"),
    "a lone surrogate": (b'{"format": "\\ud800"}', "not a sillok-backup/1 manifest"),
    "an array": (b"[]", "must hold a JSON object"),
    "null": (b"null", "must hold a JSON object"),
    "empty": (b"", "not JSON"),
}


def spoiled(good: Path, name: str) -> bytes:
    manifest = manifest_of(good)
    SPOILED[name][0](manifest)
    deep = "[" * 100_000 + "]" * 100_000
    return json.dumps(manifest).replace(json.dumps(NESTED), deep).encode()


@pytest.mark.parametrize("name", [pytest.param(n, id=n.replace(" ", "-")) for n in SPOILED])
def test_a_spoiled_manifest_is_a_backup_error_naming_the_file_and_member(
    good: Path, tmp_path: Path, name: str
) -> None:
    backup = hostile_copy(good, tmp_path / "bk", spoiled(good, name))
    with pytest.raises(BackupError) as caught:
        check_manifest(backup)
    assert str(backup / MANIFEST) in str(caught.value) or str(backup) in str(caught.value)
    assert SPOILED[name][1] in str(caught.value)


@pytest.mark.parametrize("name", [pytest.param(n, id=n.replace(" ", "-")) for n in RAW])
def test_a_manifest_that_is_no_manifest_is_a_backup_error(
    good: Path, tmp_path: Path, name: str
) -> None:
    data, says = RAW[name]
    backup = hostile_copy(good, tmp_path / "bk", data)
    with pytest.raises(BackupError, match=says) as caught:
        check_manifest(backup)
    assert str(backup / MANIFEST) in str(caught.value)


def test_an_oversized_manifest_is_refused_before_it_is_read(good: Path, tmp_path: Path) -> None:
    """A sparse file past the limit: refused on its size, not read into memory."""
    backup = hostile_copy(good, tmp_path / "bk", b"")
    with open(backup / MANIFEST, "wb") as fh:
        fh.truncate(MAX_MANIFEST_BYTES + 1)
    with pytest.raises(BackupError, match="larger than"):
        check_manifest(backup)


def test_a_symbolic_link_in_a_backup_is_refused(good: Path, tmp_path: Path) -> None:
    """A link named like a backup file would copy, at a restore, the file it points to."""
    backup = hostile_copy(good, tmp_path / "bk", (good / MANIFEST).read_bytes())
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("not the backup's")
    os.symlink(secret, backup / "notes.txt")
    with pytest.raises(BackupError, match="notes.txt is a symbolic link"):
        check_manifest(backup)


@pytest.mark.parametrize(
    "name", ["row_counts missing", "checkpoint a number", "files an array", "deep nesting inside"]
)
def test_restore_refuses_a_spoiled_manifest_and_leaves_no_folder(
    good: Path, tmp_path: Path, name: str
) -> None:
    backup = hostile_copy(good, tmp_path / "bk", spoiled(good, name))
    with pytest.raises(BackupError):
        Archive.restore(backup, tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("name", ["row_counts missing", "checkpoint null", "deep nesting inside"])
def test_the_restore_command_refuses_a_spoiled_manifest_without_a_traceback(
    good: Path, tmp_path: Path, name: str
) -> None:
    backup = hostile_copy(good, tmp_path / "bk", spoiled(good, name))
    passphrase_file = tmp_path / "pass"
    passphrase_file.write_text(PASSPHRASE)
    result = runner.invoke(
        app,
        ["restore", str(backup), str(tmp_path / "restored"), "--passphrase-file",
         str(passphrase_file)],
        env={},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback: {result.exception!r}"
    )
    assert result.exit_code == 2 and "manifest.json" in result.stderr
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize(
    "state",
    [b"[" * 100_000, b'{"size": "1"}', b"{}", b'{"size": 1, "root": 5}', b"\xff"],
    ids=["nested", "size-a-string", "empty-object", "root-a-number", "not-utf8"],
)
def test_a_damaged_replica_state_is_a_backup_error(tmp_path: Path, state: bytes) -> None:
    (tmp_path / "replica").mkdir()
    (tmp_path / "replica" / "replica.json").write_bytes(state)
    with pytest.raises(BackupError, match="replica.json"):
        FolderReplica(tmp_path / "replica").accepted()


# --- any change to a good manifest -----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
MEMBERS = ["format", "made_at", "origin", "tree_size", "root", "checkpoint", "verifier_key",
           "row_counts", "files", "extra"]


@st.composite
def changes(draw: st.DrawFn) -> tuple[tuple[str, ...], Any]:
    """A member of the manifest (or one of its row counts or files) and a new JSON value,
    or None for the value to be removed."""
    top = draw(st.sampled_from(MEMBERS))
    inner = {
        "row_counts": ["acts", "users", "audit_events", "persons", "new_table"],
        "files": ["archive.db", "keys.json", "archive.json", "../keys.json", "other"],
    }.get(top)
    path = (top,) if not inner or draw(st.booleans()) else (top, draw(st.sampled_from(inner)))
    return path, draw(st.just(None) | json_values)


def apply(manifest: dict[str, Any], change: tuple[tuple[str, ...], Any]) -> dict[str, Any]:
    path, value = change
    bad = copy.deepcopy(manifest)
    target = bad
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return bad


@example(change=(("row_counts",), None))
@example(change=(("row_counts", "users"), 1))
@example(change=(("made_at",), "yesterday"))
@example(change=(("checkpoint",), 7))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=changes())
def test_any_change_to_a_manifest_restores_or_is_refused_leaving_nothing(
    good: Path, change: tuple[tuple[str, ...], Any]
) -> None:
    """Property: a backup whose manifest has any one member replaced or removed restores
    (and then the copy is whole) or raises a SillokError; a refused restore leaves no folder."""
    manifest = apply(manifest_of(good), change)
    with tempfile.TemporaryDirectory() as scratch:
        backup = hostile_copy(good, Path(scratch) / "bk", json.dumps(manifest).encode())
        target = Path(scratch) / "restored"
        try:
            done = Archive.restore(backup, target, PASSPHRASE)
        except SillokError as exc:
            assert str(exc)
            assert not target.exists(), f"a refused restore left {target}"
            return
        assert done["root"] == manifest_of(good)["root"]
        with Archive.open(target, PASSPHRASE) as restored:
            assert restored.verification.run().ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=512) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_as_a_manifest_are_refused_cleanly(good: Path, data: bytes) -> None:
    """Property: ``check_manifest`` on any bytes raises BackupError naming the manifest."""
    with tempfile.TemporaryDirectory() as scratch:
        backup = hostile_copy(good, Path(scratch) / "bk", data)
        with pytest.raises(BackupError) as caught:
            check_manifest(backup)
        assert MANIFEST in str(caught.value) or "not a Sillok backup" in str(caught.value)
