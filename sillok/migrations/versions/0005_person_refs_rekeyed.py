"""person refs without names: mark an archive's refs to be re-keyed (no schema change)

Before this revision an informant's ref and an unnamed victim's were keyed hashes under a key
every role derives (so any role could confirm a guessed name), and a perpetrator's ref was
``perpetrator:{source}:{name}``. The new refs are keyed under the ref key, which only the
writers hold (sillok/security/refs.py). A migration holds no key and cannot write the log, so
it only marks the archive: the first import by a writer re-keys every old ref, each change a
new version of the person in the log (records/ingest.py, ``Importer.rekey_refs``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MARK = "person refs to re-key"  # sillok.store.imports.REKEY_REFS


def upgrade() -> None:
    bind = op.get_bind()
    meta = sa.table("archive_meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    persons = sa.table("persons", sa.column("id", sa.Integer))
    if bind.execute(sa.select(persons.c.id).limit(1)).first() is None:
        return  # a new archive, or one without persons: every ref it gets is keyed
    if bind.execute(sa.select(meta.c.key).where(meta.c.key == MARK)).first() is None:
        bind.execute(sa.insert(meta).values(key=MARK, value="0005"))


def downgrade() -> None:
    meta = sa.table("archive_meta", sa.column("key", sa.String))
    op.get_bind().execute(sa.delete(meta).where(meta.c.key == MARK))
