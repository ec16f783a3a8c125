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

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("statements")}
    if "member_id" in columns:
        return  # a schema already at this revision whose version mark was set back by hand
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_edtf", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("signed_lower", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("signed_upper", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("member_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_statements_member_id_organizations"), "organizations", ["member_id"], ["id"]
        )
    with op.batch_alter_table("statement_signatories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statement_signatories", schema=None) as batch_op:
        batch_op.drop_column("position")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_statements_member_id_organizations"), type_="foreignkey")
        batch_op.drop_column("member_id")
        batch_op.drop_column("signed_upper")
        batch_op.drop_column("signed_lower")
        batch_op.drop_column("signed_edtf")
