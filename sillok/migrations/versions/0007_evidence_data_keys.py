"""evidence data keys: a wrapped data key per stored file, the SHA-256 sealed in the row

Before this revision every evidence file was sealed directly under the evidence key of its
epoch (kept, retired, in every evidence role's copy after each rotation), its blob named by a
keyed hash, and its SHA-256 stored in the clear, readable by every role with the database key.
From now on each file has its own data key, wrapped under the evidence key in
``evidence_keys`` (re-wrapped by ``keys rotate``), and the row's SHA-256 is sealed under the
data key, which is longer than a hex digest (``attachments.sha256`` widened; SQLite does not
enforce lengths, so only PostgreSQL needs the change).

A migration holds no key, so files attached before stay as they are and still open with the
evidence keys of the copies; the next ``sillok keys rotate`` gives each of them a wrapped key
(the evidence key that opens it) and drops the retired evidence keys from every copy
(sillok/security/evidence.py, ``EvidenceKeys.rewrap``).

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    bind = op.get_bind()
    if "evidence_keys" in sa.inspect(bind).get_table_names():
        return  # a schema already at this revision whose version mark was set back by hand
    op.create_table(
        "evidence_keys",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("blob_name", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_keys")),
        sa.UniqueConstraint("blob_name", name=op.f("uq_evidence_keys_blob_name")),
    )
    with op.batch_alter_table("evidence_keys", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_keys_digest", ["digest"], unique=False)
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "attachments",
            "sha256",
            existing_type=sa.String(length=64),
            type_=sa.String(length=120),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "attachments",
            "sha256",
            existing_type=sa.String(length=120),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("evidence_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_keys_digest")
    op.drop_table("evidence_keys")
