"""Statements and news: write, translate, sign, relate to events, publish, list and page through.

A coordinator writes a statement (or a news item or report) in one language, attaches the
organizations and persons that sign it (:mod:`sillok.records.signatories`) and the events it
concerns, translates it, and publishes it. The
public side lists only what is published, newest first, and links each item to the previous
(older) and next (newer) published item in the same language.

A coalition posts news *on its members*: an item names the member that issued it (one of the
archive's coalition members, :meth:`Statements.set_members`), the date it was posted
(``date``) and the date it was signed or issued (``signed``), either of them uncertain (EDTF),
and its signatories in the order they sign. The body is Markdown, rendered by
:func:`render_body` without raw HTML.

Statements are versioned records: every edit, publication or withdrawal keeps the previous
version in the history. Writing needs ``statement.write``; publishing, withdrawing, changing
what is or was published and setting the coalition's members need ``statement.publish``
(:mod:`sillok.security.policy`), whichever way in the change comes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from sillok.dates import DateError, UncertainDate, parse_date
from sillok.errors import InvalidInput, NotFound
from sillok.messages import Message, no_such
from sillok.records import signatories as signing
from sillok.records.coalition import (
    Coalition,
    Member,
    PublishRightNeeded,
    member_id,
)
from sillok.records.markdown import render_body
from sillok.records.statement_listing import (
    BODY_MAX,
    LANGUAGES,
    PAGE_MAX,
    STATEMENT_KINDS,
    TITLE_MAX,
    Neighbours,
    RelatedEvent,
    Signatory,
    Statement,
    StatementPage,
    StatementReader,
    WriteRightNeeded,
    checked_choice,
)
from sillok.security.policy import may
from sillok.store import rows as store_rows
from sillok.store import statements as store

__all__ = [
    "BODY_MAX",
    "LANGUAGES",
    "PAGE_MAX",
    "STATEMENT_KINDS",
    "TITLE_MAX",
    "Member",
    "Neighbours",
    "PublishRightNeeded",
    "RelatedEvent",
    "Signatory",
    "Statement",
    "StatementPage",
    "Statements",
    "WriteRightNeeded",
    "render_body",
]


def _date(text: str | None, name: str = "date") -> UncertainDate | None:
    if text is None or not str(text).strip():
        return None
    try:
        return parse_date(str(text).strip())
    except DateError as exc:
        raise InvalidInput(Message("{field}: {problem}", field=name, problem=exc.args[0])) from None


def _checked_text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"{name}: a statement needs a {name}")
    if len(value) > limit:
        raise InvalidInput(f"{name}: {len(value)} characters is more than the {limit} allowed")
    return value


class Statements(StatementReader):
    """The statements of an archive (``Statements(archive)``): reading
    (:class:`~sillok.records.statement_listing.StatementReader`), writing, signing, publishing.
    """

    def _actor(self, actor: str | None) -> str:
        return actor or self.vault.settings.actor

    # --- writing --------------------------------------------------------------------------

    def write(
        self,
        title: str,
        body: str,
        language: str,
        kind: str = "statement",
        date: str | None = None,
        actor: str | None = None,
        translation_of: int | None = None,
        member: str | None = None,
        signed: str | None = None,
    ) -> Statement:
        """Write a new, unpublished statement; ``date`` is the date it was posted, ``signed``
        the date it was signed or issued, ``member`` the coalition member that issued it (by
        any of its names).

        Raises:
            InvalidInput: naming the field and value that is wrong (an empty title, an unknown
                kind or language, a date no one could read, a member not in the coalition).
            WriteRightNeeded: for a role without ``statement.write``.
        """
        self.check_write_right()
        with self.vault.store.transaction() as conn:
            values = self.values_of(
                conn, title, body, language, kind, date, signed, member, translation_of
            )
            sid = self.insert(conn, values, actor)
        return self.get(sid)

    def values_of(
        self,
        conn: Connection,
        title: str,
        body: str,
        language: str,
        kind: str,
        date: str | None,
        signed: str | None,
        member: str | None,
        translation_of: int | None,
    ) -> dict[str, Any]:
        """The row a new statement is written as, every value checked (nothing is written).

        Raises:
            InvalidInput: naming the first field that is wrong and its value.
        """
        values: dict[str, Any] = {
            "kind": checked_choice("kind", kind, STATEMENT_KINDS),
            "language": checked_choice("language", language, LANGUAGES),
            "title": _checked_text("title", title, TITLE_MAX),
            "body": _checked_text("body", body, BODY_MAX),
            "published": False,
            "translation_of": translation_of,
            "member_id": member_id(self.vault, conn, member),
            **_date_values(_date(date)),
            **_date_values(_date(signed, "signed"), "signed"),
        }
        return values

    def insert(
        self,
        conn: Connection,
        values: dict[str, Any],
        actor: str | None,
        signatories: Sequence[Any] = (),
        event_ids: Sequence[int] = (),
    ) -> int:
        """Insert a statement checked by :meth:`values_of`, with its signatories (organizations
        and persons in order, :func:`~sillok.records.signatories.signatory_name`; an unknown
        organization is added as an unverified one) and related events, in the caller's
        transaction. Returns its id.

        Raises:
            InvalidInput: naming a signatory that cannot sign (:func:`signing.resolve`).
        """
        dialect = self.vault.store.dialect
        (sid,) = store_rows.insert_records(conn, dialect, "statement", [values], self._actor(actor))
        if signatories:
            names = signing.signatory_names(signatories)
            signers = signing.resolve(self.vault, conn, names, self._actor(actor))
            store.set_signatories(conn, dialect, sid, signers)
        if event_ids:
            _check_events_exist(conn, event_ids)
            store.set_related_events(conn, dialect, sid, event_ids)
        return int(sid)

    def members(self) -> list[Member]:
        """The coalition's member organizations (:class:`~sillok.records.coalition.Coalition`)."""
        return Coalition(self.vault).members()

    def set_members(self, names: Sequence[str], actor: str | None = None) -> list[Member]:
        """Set the coalition's members (:meth:`~sillok.records.coalition.Coalition.set`)."""
        return Coalition(self.vault).set(names, self._actor(actor))

    def edit(
        self,
        statement_id: int,
        title: str | None = None,
        body: str | None = None,
        date: str | None = None,
        kind: str | None = None,
        actor: str | None = None,
        signed: str | None = None,
        member: str | None = None,
    ) -> Statement:
        """Change a statement's text, dates, kind or member (a new version; the old one is
        kept). ``member=""`` takes the member off."""
        self.check_write_right()
        changes: dict[str, Any] = {}
        if signed is not None:
            changes.update(_date_values(_date(signed, "signed"), "signed"))
        if member is not None:
            with self.vault.store.reading() as conn:
                changes["member_id"] = member_id(self.vault, conn, member)
        if title is not None:
            changes["title"] = _checked_text("title", title, TITLE_MAX)
        if body is not None:
            changes["body"] = _checked_text("body", body, BODY_MAX)
        if kind is not None:
            changes["kind"] = checked_choice("kind", kind, STATEMENT_KINDS)
        if date is not None:
            changes.update(_date_values(_date(date)))
        self._change(statement_id, changes, actor)
        return self.get(statement_id)

    def translate(
        self, statement_id: int, language: str, title: str, body: str, actor: str | None = None
    ) -> Statement:
        """Add a translation: a new statement of the same kind and date, linked to the original.

        Translating a translation links the new one to the original. The translation starts
        unpublished, with the original's signatories and related events.
        """
        original = self.get(statement_id)
        root = original.translation_of or original.id
        existing = {s.language for s in self.translations(root)}
        if language in existing:
            raise InvalidInput(f"language: statement {root} already has a {language!r} version")
        created = self.write(
            title,
            body,
            language,
            original.kind,
            original.date,
            actor,
            translation_of=root,
            member=original.member.name if original.member else None,
            signed=original.signed,
        )
        with self.vault.store.transaction() as conn:
            dialect = self.vault.store.dialect
            signers = store.signatories(conn, original.id)
            people = store.signing_persons(conn, [i for k, i in signers if k == "person"])
            # a person protected since the original was signed does not sign the translation
            kept = [(k, i) for k, i in signers if k != "person" or not _protected(people, i)]
            store.set_signatories(conn, dialect, created.id, kept)
            store.set_related_events(conn, dialect, created.id, [e.id for e in original.events])
        return self.get(created.id)

    def set_signatories(
        self, statement_id: int, names: Sequence[Any], actor: str | None = None
    ) -> Statement:
        """Set the organizations and persons that sign a statement, in order: each a name
        (an organization), ``person: NAME``, ``{person: NAME}`` or ``{organization: NAME}``
        (:func:`~sillok.records.signatories.signatory_name`).

        An organization the archive does not know is added as an unverified organization (an
        NGO), as imports do, so a member group's own spelling is never refused. A person must
        be in the archive (by ref, or by a name recorded in the clear) and not protected.

        Raises:
            InvalidInput: naming the signatory refused; nothing is changed.
        """
        self.check_write_right()
        self.get(statement_id)
        given = signing.signatory_names(names)
        with self.vault.store.transaction() as conn:
            self._check_publish_right(conn, statement_id)
            signers = signing.resolve(self.vault, conn, given, self._actor(actor))
            store.set_signatories(conn, self.vault.store.dialect, statement_id, signers)
        return self.get(statement_id)

    def set_events(
        self, statement_id: int, event_ids: Sequence[int], actor: str | None = None
    ) -> Statement:
        """Set the events a statement concerns.

        Raises:
            InvalidInput: naming the event ids that do not exist.
        """
        self.check_write_right()
        self.get(statement_id)
        with self.vault.store.transaction() as conn:
            self._check_publish_right(conn, statement_id)
            _check_events_exist(conn, event_ids)
            store.set_related_events(conn, self.vault.store.dialect, statement_id, event_ids)
        return self.get(statement_id)

    def check(
        self,
        title: str | None = None,
        body: str | None = None,
        language: str | None = None,
        kind: str | None = None,
        date: str | None = None,
        event_ids: Sequence[int] = (),
        signed: str | None = None,
        member: str | None = None,
        signatories: Sequence[Any] | None = None,
    ) -> None:
        """Check what a statement is to be written or changed with, writing nothing.

        A form or request that sets the text, the events and the signatories at once checks
        them all here first, then writes: a refusal then leaves the archive as it was (no
        draft without its events, no duplicate when the corrected form is sent again). What
        is None is not checked; of the signatories only the persons need a check (an unknown
        organization is added).

        Raises:
            InvalidInput: naming the first field that is wrong and its value.
        """
        if kind is not None:
            checked_choice("kind", kind, STATEMENT_KINDS)
        if language is not None:
            checked_choice("language", language, LANGUAGES)
        if title is not None:
            _checked_text("title", title, TITLE_MAX)
        if body is not None:
            _checked_text("body", body, BODY_MAX)
        _date(date)
        _date(signed, "signed")
        given = signing.signatory_names(signatories) if signatories else []
        with self.vault.store.reading() as conn:
            signing.check(conn, given)
            if member:
                member_id(self.vault, conn, member)
            if event_ids:
                _check_events_exist(conn, event_ids)

    def publish(self, statement_id: int, actor: str | None = None) -> Statement:
        """Publish a statement: from now on anyone can read it."""
        self._change(statement_id, {"published": True}, actor)
        return self.get(statement_id)

    def withdraw(self, statement_id: int, actor: str | None = None) -> Statement:
        """Take a published statement off the public side (its versions stay in the history)."""
        self._change(statement_id, {"published": False}, actor)
        return self.get(statement_id)

    def _change(self, statement_id: int, changes: dict[str, Any], actor: str | None) -> None:
        with self.vault.store.transaction() as conn:
            current = store_rows.get(conn, "statement", statement_id)
            if current is None:
                raise NotFound(no_such("statement", statement_id))
            self._check_publish_right(conn, statement_id, publishing="published" in changes)
            changed = store_rows.changed_fields(current, changes)
            if changed:
                store_rows.update_record(conn, "statement", current, changed, self._actor(actor))

    def _check_publish_right(
        self, conn: Connection, statement_id: int, publishing: bool = False
    ) -> None:
        """Refuse, without the publish right, to publish or withdraw, or to change a statement
        that is or was published: what the public reads (or read) is the publisher's to change.

        Raises:
            PublishRightNeeded: naming the role and the right.
        """
        role = self.vault.role
        if may(role, "statement.publish"):
            return
        versions = store_rows.history(conn, "statement", statement_id)
        if publishing or any(v.get("published") for v in versions):
            raise PublishRightNeeded(
                f"the {role} role may not publish, withdraw or change a published or withdrawn "
                f"statement (statement.publish)"
            )


def _protected(people: dict[int, Any], person_id: int) -> bool:
    """Whether a signing person is protected (or gone: then shown to no one either)."""
    person = people.get(person_id)
    return person is None or bool(person.protected)


def _check_events_exist(conn: Connection, event_ids: Sequence[int]) -> None:
    """Refuse event ids that name no event.

    Raises:
        InvalidInput: naming the missing ids.
    """
    found = store.existing_event_ids(conn, list(event_ids))
    missing = sorted(set(event_ids) - found)
    if missing:
        raise InvalidInput(f"events: no event with id {', '.join(map(str, missing))}")


def _date_values(value: UncertainDate | None, prefix: str = "date") -> dict[str, Any]:
    return {
        f"{prefix}_edtf": value.edtf if value else None,
        f"{prefix}_lower": value.lower if value else None,
        f"{prefix}_upper": value.upper if value else None,
    }
