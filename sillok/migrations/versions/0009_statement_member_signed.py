"""statements as the field writes them: the posting member, the signed date, ordered signatories

A statement had one date and no member, and its signatories came back in the order of their
organization ids. From this revision a statement also carries the coalition member that
issued it (``member_id``, an organization) and the date it was signed or issued (an uncertain
date: ``signed_edtf`` and its bounds); ``date_*`` stays the date it was posted. Each signatory
has its ``position``. Existing statements keep their date as the posted date, with no member,
no signed date, and their signatories (position NULL) in the old order.

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


_SIGNED = ("signed_edtf", "signed_lower", "signed_upper")


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both stores, never SQLite's batch mode: a batch recreates
    # the table (DROP TABLE statements), and with foreign keys on that deletes every
    # signatory and related event through their ON DELETE CASCADE.
    sqlite = op.get_bind().dialect.name == "sqlite"
    have = _columns("statements")
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "signed_edtf": sa.String(length=64),
        "signed_lower": sa.Date(),
        "signed_upper": sa.Date(),
    }
    for name in _SIGNED:
        if name not in have:
            op.add_column("statements", sa.Column(name, types[name], nullable=True))
    if "member_id" not in have:
        if sqlite:
            op.execute(
                "ALTER TABLE statements ADD COLUMN member_id INTEGER REFERENCES organizations (id)"
            )
        else:
            op.add_column("statements", sa.Column("member_id", _ID, nullable=True))
            op.create_foreign_key(
                op.f("fk_statements_member_id_organizations"),
                "statements",
                "organizations",
                ["member_id"],
                ["id"],
            )
    if "position" not in _columns("statement_signatories"):
        op.add_column("statement_signatories", sa.Column("position", sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite cannot drop a column that is part of a foreign key (member_id) without
    # recreating the table, which would delete the signatories (see upgrade): there member_id
    # stays, NULL-able and unread by the code before this revision.
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_column("statement_signatories", "position")
    for name in _SIGNED:
        op.drop_column("statements", name)
    if not sqlite:
        op.drop_constraint(
            op.f("fk_statements_member_id_organizations"), "statements", type_="foreignkey"
        )
        op.drop_column("statements", "member_id")
