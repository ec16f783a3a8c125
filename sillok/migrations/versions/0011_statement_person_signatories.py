"""statements signed by persons as well as organizations, in one order

A statement's signatories were organizations only (``statement_signatories``); a person's name
given as a signatory was added as an unverified organization. From this revision a person of
the archive can sign too: ``statement_person_signatories`` holds (statement, person, position),
and ``position`` shares one numbering per statement with the organizations' (from 0009), so
the signatories are read back in the one order they sign in. Existing statements keep their
organizations as they were; no person signs them. The new table is in the archive's log like
the organizations' (its name says the signatory's kind in every entry).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLE = "statement_person_signatories"


def upgrade() -> None:
    # A new table, not a kind column on statement_signatories: that table's primary key is
    # (statement, organization), and changing it on SQLite means recreating the table, which
    # with foreign keys on deletes rows through ON DELETE CASCADE (see 0009); a new column
    # would also change the log's commitment of every signatory row written before.
    if _TABLE in sa.inspect(op.get_bind()).get_table_names():
        return  # a schema already at this revision whose version mark was set back by hand
    op.create_table(
        _TABLE,
        sa.Column("statement_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_person_signatories_statement_id_statements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_statement_person_signatories_person_id_persons"),
        ),
        sa.PrimaryKeyConstraint(
            "statement_id", "person_id", name=op.f("pk_statement_person_signatories")
        ),
    )
    op.create_index("ix_statement_person_signatories_person", _TABLE, ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_statement_person_signatories_person", table_name=_TABLE)
    op.drop_table(_TABLE)
