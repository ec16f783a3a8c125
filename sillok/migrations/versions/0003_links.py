"""links: reviewed "same as" assertions between persons

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_kind", sa.String(length=20), nullable=False),
        sa.Column("left_id", Id, nullable=False),
        sa.Column("right_id", Id, nullable=False),
        sa.Column("probability_ppm", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("ref", name=op.f("uq_links_ref")),
        sa.UniqueConstraint("record_kind", "left_id", "right_id", name="uq_links_pair"),
    )
    op.create_index("ix_links_status", "links", ["record_kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_links_status", table_name="links")
    op.drop_table("links")
