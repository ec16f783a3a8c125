"""Statements as they are read: one, a page of them, its translations and neighbours.

The public side lists only what is published, newest first, and links each item to the previous
(older) and next (newer) published item in the same language, by title. Drafts are listed only
for a role with ``statement.write``. :class:`StatementReader` is the reading half of
:class:`sillok.records.statements.Statements`, which adds writing, signing and publishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from sillok.errors import InvalidInput, NotFound
from sillok.messages import Message, no_such, not_one_of
from sillok.records.coalition import Member, member_id
from sillok.records.markdown import render_body
from sillok.records.signatories import line_of
from sillok.security.policy import may
from sillok.security.seal import is_sealed
from sillok.store import queries
from sillok.store import rows as store_rows
from sillok.store import statements as store
from sillok.store.statements import StatementRow

if TYPE_CHECKING:
    from sillok.records.reading import RecordBook
    from sillok.vault import Vault

STATEMENT_KINDS = ("statement", "news", "report")
#: languages a statement can be written in (ISO 639-1); others are refused by name
LANGUAGES = ("ko", "en", "ja", "zh", "fr", "de", "es", "ru")
TITLE_MAX = 300
BODY_MAX = 200_000
PAGE_MAX = 100


@dataclass(frozen=True)
class Signatory:
    """An organization or a person that signed a statement (``kind``).

    A person protected after signing is named ``[protected]`` (their name is never read) and
    ``protected``: every public copy leaves them out (:meth:`Statement.public_signatories`).
    """

    id: int
    name: str
    unverified: bool
    kind: str = "organization"
    protected: bool = False

    @property
    def line(self) -> str:
        """How the statement form writes it: an organization's name, ``person: NAME``
        (:func:`~sillok.records.signatories.line_of`)."""
        return line_of(self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "unverified": self.unverified,
            "protected": self.protected,
        }


@dataclass(frozen=True)
class RelatedEvent:
    """An event a statement concerns."""

    id: int
    title: str
    sharing: str

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"id": self.id, "title": self.title, "sharing": self.sharing}


@dataclass(frozen=True)
class Statement:
    """One statement, news item or report, with its signatories and related events."""

    id: int
    kind: str
    language: str
    title: str
    body: str
    date: str | None
    published: bool
    translation_of: int | None
    version: int
    updated_by: str
    updated_at: str
    signatories: tuple[Signatory, ...] = ()
    events: tuple[RelatedEvent, ...] = ()
    signed: str | None = None
    member: Member | None = None

    @property
    def public_signatories(self) -> tuple[Signatory, ...]:
        """The signatories a public page may show: all but protected persons."""
        return tuple(s for s in self.signatories if not s.protected)

    @property
    def posted(self) -> str | None:
        """The date it was posted (EDTF), the same as ``date``."""
        return self.date

    @property
    def body_html(self) -> str:
        """The body rendered (:func:`render_body`)."""
        return render_body(self.body)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "language": self.language,
            "title": self.title,
            "body": self.body,
            "date": self.date,
            "signed": self.signed,
            "member": self.member.to_json() if self.member else None,
            "published": self.published,
            "translation_of": self.translation_of,
            "version": self.version,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at,
            "signatories": [s.to_json() for s in self.signatories],
            "events": [e.to_json() for e in self.events],
        }


@dataclass(frozen=True)
class StatementPage:
    """One page of a list of statements."""

    items: list[Statement]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """Whether more items follow this page."""
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class Neighbours:
    """The published items either side of one, in the same language."""

    older: Statement | None = None
    newer: Statement | None = None
    translations: list[Statement] = field(default_factory=list)


class WriteRightNeeded(InvalidInput):
    """A statement written or changed by a role without ``statement.write``."""


def checked_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``.

    Raises:
        InvalidInput: naming the field, the value and the choices.
    """
    if value not in choices:
        raise InvalidInput(not_one_of(value, choices, name))
    return value


class StatementReader:
    """Reading the statements of an archive (the base of ``Statements``)."""

    def __init__(self, vault: Vault, records: RecordBook) -> None:
        self.vault = vault
        self.records = records

    def check_write_right(self) -> None:
        """Refuse a role without ``statement.write``.

        Raises:
            WriteRightNeeded: naming the role and the right.
        """
        role = self.vault.role
        if not may(role, "statement.write"):
            raise WriteRightNeeded(
                f"the {role} role may not write or change statements (statement.write)"
            )

    # --- reading --------------------------------------------------------------------------

    def get(self, statement_id: int, published_only: bool = False) -> Statement:
        """One statement; with ``published_only`` an unpublished one is :class:`NotFound`."""
        with self.vault.store.reading() as conn:
            row = store_rows.get(conn, "statement", statement_id)
            if row is None or (published_only and not row.published):
                raise NotFound(
                    Message("there is no published statement with id {id}", id=statement_id)
                )
            return self._full(conn, row)

    def page(
        self,
        published_only: bool = True,
        language: str | None = None,
        kind: str | None = None,
        offset: int = 0,
        limit: int = 20,
        member: str | int | None = None,
    ) -> StatementPage:
        """A page of statements, newest first (only a member's, with ``member``: any of its
        names, or its organization id); drafts too (``published_only=False``) only for a role
        with ``statement.write``, as on the staff pages.

        Raises:
            WriteRightNeeded: drafts asked by a role without it.
            InvalidInput: naming the member, when it is not one of the coalition's.
        """
        if not published_only:
            self.check_write_right()
        if kind is not None:
            checked_choice("kind", kind, STATEMENT_KINDS)
        if language is not None:
            checked_choice("language", language, LANGUAGES)
        offset, limit = max(0, offset), max(1, min(limit, PAGE_MAX))
        with self.vault.store.reading() as conn:
            mid = self._member_id(conn, member)
            rows, total = store.list_statements(
                conn, published_only, language, kind, offset, limit, mid
            )
            items = [self._full(conn, r) for r in rows]
        return StatementPage(items, total, offset, limit)

    def _member_id(self, conn: Connection, member: str | int | None) -> int | None:
        if not isinstance(member, int):
            return member_id(self.vault, conn, member)
        if member not in store.member_ids(conn):
            raise InvalidInput(f"member: {member} is not the id of one of the coalition's members")
        return member

    def translations(self, statement_id: int, published_only: bool = False) -> list[Statement]:
        """The original of a statement and all its translations (itself included)."""
        with self.vault.store.reading() as conn:
            row = store_rows.get(conn, "statement", statement_id)
            if row is None:
                raise NotFound(no_such("statement", statement_id))
            rows = store.translations(conn, row.translation_of or row.id)
            return [
                self._full(conn, r, links=False) for r in rows if r.published or not published_only
            ]

    def neighbours(self, statement_id: int) -> Neighbours:
        """The published items before and after a published one, and its published translations."""
        with self.vault.store.reading() as conn:
            row = store_rows.get(conn, "statement", statement_id)
            if row is None or not row.published:
                raise NotFound(
                    Message("there is no published statement with id {id}", id=statement_id)
                )
            older, newer = store.neighbours(conn, row)
        return Neighbours(
            self._brief(older),
            self._brief(newer),
            [t for t in self.translations(statement_id, published_only=True) if t.id != row.id],
        )

    def history(self, statement_id: int) -> list[dict[str, Any]]:
        """Every version of a statement, oldest first."""
        return self.records.history("statement", statement_id)

    def _brief(self, row: StatementRow | None) -> Statement | None:
        return _statement(row) if row is not None else None

    def _full(self, conn: Connection, row: StatementRow, links: bool = True) -> Statement:
        if not links:
            return _statement(row, member=self._member(row))
        signatories = self._signatories(conn, row.id)
        related = tuple(
            RelatedEvent(e.id, e.title or e.ref or f"#{e.id}", e.sharing)
            for e in store.related_events(conn, row.id)
        )
        return _statement(row, tuple(signatories), related, self._member(row))

    def _signatories(self, conn: Connection, statement_id: int) -> tuple[Signatory, ...]:
        """A statement's signatories in order; a protected person's name is never read."""
        signers = store.signatories(conn, statement_id)
        person_ids = [rid for kind, rid in signers if kind == "person"]
        people = store.signing_persons(conn, person_ids)
        open_ids = [i for i, p in people.items() if not p.protected]
        names = queries.names_of_persons(conn, open_ids) if open_ids else {}
        orgs = self.vault.organizations
        found: list[Signatory] = []
        for kind, rid in signers:
            if kind == "organization":
                entry = orgs.get(rid)
                if entry is not None:
                    found.append(Signatory(entry.id, entry.label, entry.unverified))
                continue
            person = people.get(rid)
            if person is None:
                continue
            # only names kept in the clear: a sealed one is not this page's to open
            plain = [n for n in names.get(rid, []) if not is_sealed(n[0])]
            shown = self.records.person_name(plain, bool(person.protected))
            found.append(Signatory(rid, shown, False, "person", bool(person.protected)))
        return tuple(found)

    def _member(self, row: StatementRow) -> Member | None:
        entry = self.vault.organizations.get(row.member_id)
        return Member(entry.id, entry.label, entry.unverified) if entry else None


def _statement(
    row: StatementRow,
    signatories: tuple[Signatory, ...] = (),
    related: tuple[RelatedEvent, ...] = (),
    member: Member | None = None,
) -> Statement:
    return Statement(
        id=row.id,
        kind=row.kind,
        language=row.language,
        title=row.title,
        body=row.body,
        date=row.date_edtf,
        published=bool(row.published),
        translation_of=row.translation_of,
        version=row.version,
        updated_by=row.updated_by,
        updated_at=row.updated_at.isoformat() if row.updated_at else "",
        signatories=signatories,
        events=related,
        signed=row.signed_edtf,
        member=member,
    )
