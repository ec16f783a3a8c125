"""web sessions and login lockouts in the archive's database

The web server kept its sessions, API tokens and failed-login counters in its one process.
From this revision they are rows, so that several worker processes serve the same users:
``web_sessions`` (the SHA-256 of a session id, never the id; who, which key copy, when; the
user's unlocked keys and a pending form step sealed under a key only the cookie gives) and
``web_lockouts``, and the last second-factor step accepted per user (``web_totp_steps``: a
code is accepted once, whichever worker sees it). All are transient and outside the Merkle log.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if "web_sessions" in sa.inspect(op.get_bind()).get_table_names():
        return  # a schema already at this revision whose version mark was set back by hand
    op.create_table(
        "web_sessions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("copy", sa.String(length=64), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("sealed_keys", sa.LargeBinary(), nullable=True),
        sa.Column("pending", sa.LargeBinary(), nullable=True),
        sa.Column("pending_rev", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("digest", name=op.f("uq_web_sessions_digest")),
    )
    op.create_index("ix_web_sessions_username", "web_sessions", ["username"])
    op.create_table(
        "web_lockouts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name_digest", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_lockouts")),
        sa.UniqueConstraint("name_digest", name=op.f("uq_web_lockouts_name_digest")),
    )
    op.create_table(
        "web_totp_steps",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("name_digest", sa.String(length=64), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_totp_steps")),
        sa.UniqueConstraint("name_digest", name=op.f("uq_web_totp_steps_name_digest")),
    )


def downgrade() -> None:
    op.drop_table("web_totp_steps")
    op.drop_table("web_lockouts")
    op.drop_index("ix_web_sessions_username", table_name="web_sessions")
    op.drop_table("web_sessions")
