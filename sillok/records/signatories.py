"""Who signs a statement: organizations and persons, in the order they sign.

A signatory is given as text, as people write it: ``Open North Korea`` (an organization, as
before persons could sign), ``person: Kim Young-il`` or ``organization: NKnet`` (a kind, in
English or Korean: ``개인:``, ``단체:``), or, in a file's front matter or a JSON body, as a
mapping ``{person: "Kim Young-il"}``, ``{organization: "NKnet"}`` or
``{kind: person, name: "Kim Young-il"}`` (:func:`signatory_name`).

An organization the archive does not know is added as an unverified organization (as
imports do). A person must be one of the archive's persons, named by their ref or by a name
recorded in the clear (:func:`resolve`): persons who sign are public figures and activists,
and a new person record is a decision (is the person to be protected?) that is not made
behind a signatory list. A **protected** person is refused: a statement's signatories are
published, and a protected person's name is never shown on a public page. A person protected
after signing is read back as ``[protected]`` and left out of every public copy
(:attr:`Signatory.protected`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from sillok.errors import InvalidInput
from sillok.messages import Message
from sillok.records.coalition import organization_ids
from sillok.store import statements as store
from sillok.store.statements import SIGNATORY_KINDS, Signer

if TYPE_CHECKING:
    from sillok.vault import Vault

__all__ = [
    "PREFIXES",
    "SIGNATORY_KINDS",
    "SignatoryName",
    "check",
    "line_of",
    "resolve",
    "signatory_lines",
    "signatory_name",
    "signatory_names",
]

#: the kinds a line may begin with (``person: ...``), in English and Korean
PREFIXES: dict[str, str] = {
    "person": "person",
    "organization": "organization",
    "organisation": "organization",
    "개인": "person",
    "인물": "person",
    "단체": "organization",
}
NAME_MAX = 300


@dataclass(frozen=True)
class SignatoryName:
    """A signatory as it was given: its kind and the name (or, for a person, the ref)."""

    kind: str
    name: str

    def line(self) -> str:
        """The form's line for it (:func:`line_of`)."""
        return line_of(self.kind, self.name)

    def to_json(self) -> dict[str, str]:
        """The JSON form."""
        return {"kind": self.kind, "name": self.name}


def line_of(kind: str, name: str) -> str:
    """A signatory as one line of the form, read back as the same: a person after
    ``person:``, an organization by its name alone (after ``organization:`` when its name
    begins as a kind does, ``Person: ...``)."""
    head, colon, _rest = name.partition(":")
    if kind == "organization" and not (colon and head.strip().lower() in PREFIXES):
        return name
    return f"{kind}: {name}"


def _refused(value: Any, why: str | Message) -> InvalidInput:
    if isinstance(why, Message):
        return InvalidInput(Message("{field}: {problem}", field="signatories", problem=why))
    return InvalidInput(f"signatories: {value!r} {why}")


def _checked(kind: str, name: Any, value: Any) -> SignatoryName:
    if not isinstance(name, str) or not name.strip():
        raise _refused(value, "has no name")
    name = name.strip()
    if len(name) > NAME_MAX:
        raise _refused(value, f"is longer than {NAME_MAX} characters")
    if "\n" in name or "\r" in name:
        raise _refused(value, "is more than one line")
    return SignatoryName(kind, name)


def signatory_name(value: Any) -> SignatoryName:
    """One signatory from what was given: a string (``person: NAME``, ``organization: NAME``
    or an organization's name alone), a mapping of one kind to a name, or
    ``{kind: ..., name: ...}``.

    Raises:
        InvalidInput: ``signatories:`` and the value, when it is none of those.
    """
    if isinstance(value, SignatoryName):
        return value
    if isinstance(value, str):
        head, colon, rest = value.partition(":")
        kind = PREFIXES.get(head.strip().lower()) if colon else None
        if kind is not None:
            return _checked(kind, rest, value)
        return _checked("organization", value, value)
    if isinstance(value, Mapping):
        if set(value) == {"kind", "name"}:
            kind = PREFIXES.get(str(value["kind"]).strip().lower())
            if kind is None:
                raise _refused(value, f"has a kind that is not one of {', '.join(SIGNATORY_KINDS)}")
            return _checked(kind, value["name"], value)
        if len(value) == 1:
            ((key, name),) = value.items()
            kind = PREFIXES.get(str(key).strip().lower())
            if kind is not None:
                return _checked(kind, name, value)
        raise _refused(
            value, "is not {person: NAME}, {organization: NAME} or {kind: ..., name: ...}"
        )
    raise _refused(value, "is not a name or {person: NAME} / {organization: NAME}")


def signatory_names(values: Sequence[Any]) -> list[SignatoryName]:
    """Every signatory of a list (:func:`signatory_name`), in order; blank names are skipped,
    as blank lines are."""
    return [signatory_name(v) for v in values if not (isinstance(v, str) and not v.strip())]


def signatory_lines(text: str) -> list[SignatoryName]:
    """The signatories of a form's text, one a line, blank lines skipped."""
    return [signatory_name(line) for line in text.splitlines() if line.strip()]


def resolve(
    vault: Vault, conn: Connection, names: Sequence[SignatoryName], actor: str
) -> list[Signer]:
    """The signatories as stored, (kind, id), in order; an unknown organization is added as
    an unverified one.

    Raises:
        InvalidInput: naming the value, for a person the archive does not have, a name shared
            by several persons, or a protected person.
    """
    signers: list[Signer] = []
    for given in names:
        if given.kind == "person":
            signers.append(("person", _person_id(conn, given)))
        else:
            ids = organization_ids(vault, conn, [given.name], actor)
            signers += [("organization", i) for i in ids]
    return signers


def check(conn: Connection, names: Sequence[SignatoryName]) -> None:
    """Check the persons among the signatories as :func:`resolve` would, writing nothing
    (organizations need no check: an unknown one is added).

    Raises:
        InvalidInput: as :func:`resolve`.
    """
    for given in names:
        if given.kind == "person":
            _person_id(conn, given)


_LABEL = re.compile(r"^(?P<latin>.+?) \((?P<hangul>[^()]+)\)$")


def _persons(conn: Connection, text: str) -> list[Any]:
    """The persons a signatory's text names: by ref, by a name, or by the label pages show,
    ``Latin (Hangul)`` (so a form filled in from a statement saves back as it was)."""
    found = store.persons_called(conn, text)
    label = _LABEL.match(text)
    if found or label is None:
        return found
    latin = {r.id: r for r in store.persons_called(conn, label["latin"].strip())}
    hangul = {r.id for r in store.persons_called(conn, label["hangul"].strip())}
    return [latin[i] for i in sorted(set(latin) & hangul)]


def _person_id(conn: Connection, given: SignatoryName) -> int:
    found = _persons(conn, given.name)
    if not found:
        raise _refused(
            given.line(),
            Message(
                "{value} names no person of the archive: give a person's ref or a name recorded"
                " for them (add the person first)",
                value=repr(given.line()),
            ),
        )
    if len(found) > 1:
        refs = ", ".join(str(r.ref) for r in found if not r.protected and r.ref)
        listed = f" ({refs})" if refs else ""
        raise _refused(
            given.line(),
            Message(
                "{value} names more than one person{refs}: give the person's ref",
                value=repr(given.line()),
                refs=listed,
            ),
        )
    (person,) = found
    if person.protected:
        raise _refused(
            given.line(),
            Message(
                "{value} is a protected person: a protected person cannot sign a published"
                " statement",
                value=repr(given.line()),
            ),
        )
    return int(person.id)
