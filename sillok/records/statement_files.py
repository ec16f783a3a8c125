"""Statements from Markdown files with YAML front matter, as a group's old posts are kept.

``sillok statements import ARCHIVE FILE...`` reads files like::

    ---
    title: NKnet - Cease the repression of North Korean human rights groups immediately
    kind: news
    member: NKnet
    posted: 2020-08-26
    signed: 2020-07-21
    signatories:
      - Network for Democratization and Human Rights in North Korea
      - person: Kim Young-il
      - Open North Korea
    language: en
    ---
    The statement, in Markdown.

The keys are ``title``, ``kind`` (statement, news, report; statement when left out),
``member`` (one of the coalition's members), ``posted`` and ``signed`` (dates as the archive
reads them: EDTF, ``2020-07``, ``2020년 7월``, ``2020-07-21?``...), ``signatories`` (a list,
in the order they sign, of organizations and persons: a plain name is an organization, and one
the archive does not know is added as an unverified organization; ``person: NAME`` or
``{person: NAME}`` is a person of the archive, by ref or name, never a protected one;
``organization: NAME`` says the kind of an organization whose name could be read otherwise;
:mod:`sillok.records.signatories`), ``language`` (ISO 639-1), ``translation_of`` (the file
name of another file in the same import, or the id of a statement already in the archive) and
``events`` (ids of related events). Any other key is refused.

Every file is read and checked before anything is written, and all are written in one
transaction: a bad file is named with its key and value, and the archive is left as it was.
The front matter is read with PyYAML's safe loader (no tags, no objects), dates kept as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import Connection

from sillok.errors import InvalidInput
from sillok.messages import Message, no_such
from sillok.records.signatories import SignatoryName, signatory_names
from sillok.store import rows as store_rows

if TYPE_CHECKING:
    from sillok.records.statements import Statement, Statements

KEYS = (
    "title",
    "kind",
    "member",
    "posted",
    "signed",
    "signatories",
    "language",
    "translation_of",
    "events",
)
FILE_MAX = 1_000_000
"""The largest file read, in bytes (a statement's body is at most 200,000 characters)."""


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no tags, no objects) that leaves dates as text: the archive reads
    them (EDTF, uncertain), and YAML's own reading refuses ``2020-13-45`` with an error that
    names neither key nor file."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class StatementFileError(InvalidInput):
    """A statement file that cannot be imported, named with its key and value."""


@dataclass(frozen=True)
class StatementFile:
    """One file read: its front matter and its Markdown body."""

    path: Path
    front: dict[str, Any]
    body: str


def _fail(path: Path, message: str) -> StatementFileError:
    return StatementFileError(f"{path}: {message}")


def read_file(path: Path) -> StatementFile:
    """Read one file's front matter and body (nothing is checked against the archive).

    Raises:
        StatementFileError: naming the file and what is wrong with it.
    """
    try:
        if path.stat().st_size > FILE_MAX:
            raise _fail(path, f"larger than {FILE_MAX} bytes")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "not UTF-8 text") from None
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})") from None
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise _fail(path, "no front matter (the file must begin with a line '---')")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise _fail(path, "the front matter has no closing line '---'")
    try:
        front = yaml.load("\n".join(lines[1:end]), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise _fail(path, f"front matter{where}: {problem}") from None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise _fail(path, "the front matter is not a set of keys and values")
    for key in front:
        if key not in KEYS:
            raise _fail(path, f"{key}: not a key of a statement file ({', '.join(KEYS)})")
    return StatementFile(path, front, "\n".join(lines[end + 1 :]).strip())


def _text(f: StatementFile, key: str) -> str | None:
    """A scalar value as text (YAML reads 2020-08-26 as a date and 2020 as a number)."""
    value = f.front.get(key)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise _fail(f.path, f"{key}: {value!r} has a time; give a date")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(f.path, f"{key}: {value!r} is not a single value")
    return str(value)


def _names(f: StatementFile) -> list[SignatoryName]:
    """The signatories of a file, in order (an entry that is not one names itself)."""
    value = f.front.get("signatories")
    if value is None:
        return []
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        raise _fail(f.path, f"signatories: {value!r} is not a list of signatories")
    try:
        return signatory_names(value)
    except InvalidInput as exc:
        raise _fail(f.path, str(exc)) from None


def _events(f: StatementFile) -> list[int]:
    value = f.front.get("events")
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise _fail(f.path, f"events: {value!r} is not a list of event ids")
    return list(value)


def import_files(
    statements: Statements, paths: Sequence[Path], actor: str | None = None
) -> list[Statement]:
    """Import statement files as unpublished statements, all or none.

    Raises:
        StatementFileError: naming the first bad file, its key and value; nothing is written.
        WriteRightNeeded: for a role without ``statement.write``.
    """
    statements.check_write_right()
    files = [read_file(Path(p)) for p in paths]
    by_name: dict[str, int] = {}
    for at, f in enumerate(files):
        by_name.setdefault(f.path.name, at)
        by_name.setdefault(f.path.stem, at)
    parents = {at: _parent(files, by_name, at) for at in range(len(files))}
    order = sorted(range(len(files)), key=lambda at: isinstance(parents[at], str))
    store = statements.vault.store
    written: dict[int, int] = {}
    with store.transaction() as conn:
        checked = []
        for at in order:
            f = files[at]
            parent = parents[at]
            existing = parent if isinstance(parent, int) else None
            try:
                if existing is not None:
                    _check_original(conn, existing)
                values = statements.values_of(
                    conn,
                    title=_text(f, "title") or "",
                    body=f.body,
                    language=_text(f, "language") or "",
                    kind=_text(f, "kind") or "statement",
                    date=_text(f, "posted"),
                    signed=_text(f, "signed"),
                    member=_text(f, "member"),
                    translation_of=existing,
                )
                statements.check(event_ids=_events(f), signatories=_names(f))
            except StatementFileError:
                raise
            except InvalidInput as exc:
                raise _fail(f.path, _with_value(str(exc), f)) from None
            checked.append((at, values, _names(f)))
        for at, values, names in checked:
            parent = parents[at]
            if isinstance(parent, str):
                values = {**values, "translation_of": written[by_name[parent]]}
            written[at] = statements.insert(conn, values, actor, names, _events(files[at]))
    return [statements.get(written[at]) for at in range(len(files))]


def _parent(files: list[StatementFile], by_name: dict[str, int], at: int) -> str | int | None:
    """What ``translation_of`` names: a file of the import (its name), an id, or nothing."""
    f = files[at]
    value = f.front.get("translation_of")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, str) and by_name.get(value.strip(), at) != at:
        target = value.strip()
        if files[by_name[target]].front.get("translation_of") is not None:
            raise _fail(f.path, f"translation_of: {value!r} is itself a translation")
        return target
    raise _fail(f.path, f"translation_of: {value!r} names no other file of this import")


def _check_original(conn: Connection, statement_id: int) -> None:
    """Refuse to translate what is not an original statement of the archive.

    Raises:
        InvalidInput: naming the id.
    """
    row = store_rows.get(conn, "statement", statement_id)
    if row is None:
        raise InvalidInput(Message(
            "{field}: {problem}", field="translation_of", problem=no_such("statement", statement_id)
        ))
    if row.translation_of is not None:
        raise InvalidInput(
            f"translation_of: statement {statement_id} is itself a translation "
            f"(of {row.translation_of})"
        )


def _with_value(message: str, f: StatementFile) -> str:
    """The library's message (``key: ...``), with the file's value when it does not show it."""
    key = message.split(":", 1)[0].strip()
    source = {"date": "posted"}.get(key, key)
    value = f.front.get(source)
    if source != key:
        message = f"{source}:{message.split(':', 1)[1]}"
    if value is not None and str(value) not in message:
        message += f" (value {value!r})"
    return message
