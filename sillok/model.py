"""The archive's tables: the data model of DESIGN.md as SQLAlchemy Core tables.

One schema serves SQLite/SQLCipher and PostgreSQL. Every record table carries the same
bookkeeping columns (id, ref, version, created/updated by and at); superseded versions of a
record are kept whole in ``record_versions``, so nothing is ever overwritten without a trace.

The full-text search index is not declared here: its shape differs between the stores (an FTS5
virtual table, a tsvector column) and lives in the store dialects.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT on PostgreSQL; INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the rowid alias.
Id = BigInteger().with_variant(Integer(), "sqlite")

SHARING_LEVELS = ("confidential", "internal", "public")
PERSON_STATUSES = ("alive", "dead", "disappeared", "detained", "unknown")
SEXES = ("male", "female", "unknown")


def _record_columns() -> list[Column]:
    """The bookkeeping columns every record table has."""
    return [
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("ref", String(200), nullable=True, unique=True),
        Column("version", Integer, nullable=False, default=1),
        Column("created_by", String(100), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_by", String(100), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    ]


def _date_columns(prefix: str) -> list[Column]:
    """An uncertain date: its EDTF text and the bounds computed from it."""
    return [
        Column(f"{prefix}_edtf", String(64)),
        Column(f"{prefix}_lower", Date),
        Column(f"{prefix}_upper", Date),
    ]


archive_meta = Table(
    "archive_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

places = Table(
    "places",
    metadata,
    *_record_columns(),
    Column("vocab_key", String(100), unique=True),
    Column("parent_id", Id, ForeignKey("places.id")),
    Column("kind", String(40), nullable=False),  # country, province, city, county, town, facility
    Column("name_ko", Text),
    Column("name_en", Text),
    Column("aliases", Text, nullable=False, default="[]"),  # JSON list, every script
    Column("facility_type", String(100)),  # vocabulary key, for kind == facility
    Column("latitude", Text),
    Column("longitude", Text),
    Column("unverified", Boolean, nullable=False, default=False),
)

organizations = Table(
    "organizations",
    metadata,
    *_record_columns(),
    Column("vocab_key", String(100), unique=True),
    Column("kind", String(40), nullable=False),  # state_agency, ngo, government, other
    Column("name_ko", Text),
    Column("name_en", Text),
    Column("aliases", Text, nullable=False, default="[]"),
    Column("unverified", Boolean, nullable=False, default=False),
)

persons = Table(
    "persons",
    metadata,
    *_record_columns(),
    Column("sex", String(10)),
    *_date_columns("birth"),
    Column("origin_place_id", Id, ForeignKey("places.id")),
    Column("status", String(20), nullable=False, default="unknown"),
    Column("protected", Boolean, nullable=False, default=False),
)

person_names = Table(
    "person_names",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", Id, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("script", String(10), nullable=False),  # Hang, Latn
    Column("kind", String(20), nullable=False),  # birth, alias, romanization
    Index("ix_person_names_person", "person_id"),
)

sources = Table(
    "sources",
    metadata,
    *_record_columns(),
    Column("source_type", String(40), nullable=False),
    *_date_columns("date"),
    Column("informant_id", Id, ForeignKey("persons.id")),
    Column("language", String(10)),
    Column("title", Text),
    Column("narrative", Text),
    Column("reliability", String(20)),
    Column("sharing", String(20), nullable=False, default="internal"),
)

events = Table(
    "events",
    metadata,
    *_record_columns(),
    Column("title", Text),
    Column("description", Text),
    *_date_columns("date"),
    Column("place_id", Id, ForeignKey("places.id")),
    Column("sharing", String(20), nullable=False, default="internal"),
)

acts = Table(
    "acts",
    metadata,
    *_record_columns(),
    Column("act_type", String(100), nullable=False),  # act_types vocabulary key
    Column("event_id", Id, ForeignKey("events.id")),
    Column("victim_id", Id, ForeignKey("persons.id")),
    *_date_columns("date"),
    Column("place_id", Id, ForeignKey("places.id")),
    Column("facility_id", Id, ForeignKey("places.id")),
    Column("facility_type", String(100)),  # facility_types vocabulary key
    Column("description", Text),
    Column("sharing", String(20), nullable=False, default="internal"),
    Index("ix_acts_act_type", "act_type"),
    Index("ix_acts_place", "place_id"),
    Index("ix_acts_facility", "facility_id"),
    Index("ix_acts_facility_type", "facility_type"),
    Index("ix_acts_date", "date_lower", "date_upper"),
    Index("ix_acts_victim", "victim_id"),
    Index("ix_acts_event", "event_id"),
)

act_perpetrators = Table(
    "act_perpetrators",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("act_id", Id, ForeignKey("acts.id", ondelete="CASCADE"), nullable=False),
    Column("organization_id", Id, ForeignKey("organizations.id")),
    Column("person_id", Id, ForeignKey("persons.id")),
    Column("role", String(40), nullable=False, default="perpetrator"),
    Index("ix_act_perpetrators_act", "act_id"),
    Index("ix_act_perpetrators_org", "organization_id"),
)

act_sources = Table(
    "act_sources",
    metadata,
    Column("act_id", Id, ForeignKey("acts.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", Id, ForeignKey("sources.id"), primary_key=True),
    Index("ix_act_sources_source", "source_id"),
)

statements = Table(
    "statements",
    metadata,
    *_record_columns(),
    Column("kind", String(20), nullable=False, default="statement"),  # statement, news, report
    *_date_columns("date"),  # posted (the date the item went up)
    *_date_columns("signed"),  # signed or issued (since 0009)
    # the coalition member that issued it (since 0009; one of the archive's members)
    Column("member_id", Id, ForeignKey("organizations.id")),
    Column("language", String(10), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("translation_of", Id, ForeignKey("statements.id")),
    Column("published", Boolean, nullable=False, default=False),
)

statement_signatories = Table(
    "statement_signatories",
    metadata,
    Column("statement_id", Id, ForeignKey("statements.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", Id, ForeignKey("organizations.id"), primary_key=True),
    Column("position", Integer),  # the order they sign in (since 0009; NULL before)
)

#: persons who sign a statement (since 0011): public figures and activists, never a protected
#: person (sillok.records.statements refuses one). ``position`` orders them among the
#: organizations of ``statement_signatories``: the two tables share one numbering per statement.
statement_person_signatories = Table(
    "statement_person_signatories",
    metadata,
    Column("statement_id", Id, ForeignKey("statements.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", Id, ForeignKey("persons.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_statement_person_signatories_person", "person_id"),
)

statement_events = Table(
    "statement_events",
    metadata,
    Column("statement_id", Id, ForeignKey("statements.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Id, ForeignKey("events.id"), primary_key=True),
)

attachments = Table(
    "attachments",
    metadata,
    *_record_columns(),
    Column("record_kind", String(20), nullable=False),
    Column("record_id", Id, nullable=False),
    Column("filename", Text),
    Column("media_type", String(100)),
    Column("size", BigInteger, nullable=False),
    # sealed under the file's data key (sillok.security.evidence); a file attached before
    # migration 0007 keeps its SHA-256 here in the clear
    Column("sha256", String(120), nullable=False),
    Column("blob_name", String(64), nullable=False),
    Column("captured_at", Text),
    Column("captured_place", Text),
    Index("ix_attachments_record", "record_kind", "record_id"),
)

record_versions = Table(
    "record_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_kind", String(20), nullable=False),
    Column("record_id", Id, nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),  # canonical JSON of the whole superseded row
    Column("changed_by", String(100), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("record_kind", "record_id", "version", name="uq_record_versions_version"),
)

#: record kind (as users type it) -> its table
links = Table(
    "links",
    metadata,
    *_record_columns(),
    Column("record_kind", String(20), nullable=False),  # person (events: later)
    Column("left_id", Id, nullable=False),
    Column("right_id", Id, nullable=False),
    # match probability in parts per million: the Merkle log encodes no floats
    Column("probability_ppm", Integer, nullable=False),
    Column("evidence", Text, nullable=False, default="[]"),  # JSON: which fields moved the score
    Column("status", String(20), nullable=False, default="pending"),  # pending accepted rejected
    UniqueConstraint("record_kind", "left_id", "right_id", name="uq_links_pair"),
    Index("ix_links_status", "record_kind", "status"),
)

RECORD_TABLES: dict[str, Table] = {
    "source": sources,
    "event": events,
    "act": acts,
    "person": persons,
    "place": places,
    "organization": organizations,
    "statement": statements,
    "attachment": attachments,
    "link": links,
}


# --- integrity and confidentiality (issue 3) ---------------------------------------------------
# The Merkle log, its signed tree heads, users, the audit trail, sealed-field keys and the chain
# of custody of attachments. See docs/ledger.md and docs/security.md.

ledger_entries = Table(
    "ledger_entries",
    metadata,
    # seq is the leaf index (0-based). The canonical entry bytes are rebuilt from the other
    # columns (one encoding, documented in docs/ledger.md), so the row cannot disagree with them.
    Column("seq", Id, primary_key=True, autoincrement=False),
    Column("tbl", String(40), nullable=False),
    Column("row_id", BigInteger, nullable=False),
    Column("row_sub", BigInteger),  # second key column of a link table (act_sources...)
    Column("row_version", Integer),  # version of a versioned record
    Column("op", String(8), nullable=False),  # insert, update, delete
    Column("content", LargeBinary(32)),  # content commitment; NULL for a delete
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Index("ix_ledger_entries_row", "tbl", "row_id"),
)

ledger_state = Table(
    "ledger_state",
    metadata,
    # One row (id 1): the log's compact range, so an append costs O(log n), not a full read.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("origin", String(200), nullable=False),
    Column("verifier_key", Text, nullable=False),
    Column("signing_key", LargeBinary, nullable=False),  # AES-GCM sealed Ed25519 seed
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", Id, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),  # C2SP signed note
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("record_kind", String(20)),
    Column("record_id", BigInteger),
    Column("detail", Text, nullable=False, default="{}"),  # JSON; never a protected value
    Index("ix_audit_events_record", "record_kind", "record_id"),
    Index("ix_audit_events_action", "action"),
)

seal_keys = Table(
    "seal_keys",
    metadata,
    # Per-person (or archive-wide) field keys, wrapped under the seal master key. Deleting a
    # wrapped key is crypto-shredding: every field sealed under it is gone for good.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject", String(100), nullable=False, unique=True),  # person:12, archive
    Column("wrapped", LargeBinary),  # NULL once shredded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True)),
)

evidence_keys = Table(
    "evidence_keys",
    metadata,
    # The data key of each stored evidence file (blob), wrapped under the evidence key, and
    # the keyed fingerprint of its SHA-256 (sillok.security.evidence). Re-wrapped at rotation.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("blob_name", String(64), nullable=False, unique=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_evidence_keys_digest", "digest"),
)

person_contacts = Table(
    "person_contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("person_id", Id, ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # phone, email, address, messenger, other
    Column("value", Text, nullable=False),  # always sealed
    Index("ix_person_contacts_person", "person_id"),
)

attachment_custody = Table(
    "attachment_custody",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("attachment_id", Id, ForeignKey("attachments.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(20), nullable=False),  # added, opened, verified
    Column("origin", Text),  # where from: host and file name as given
    Index("ix_attachment_custody_attachment", "attachment_id"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # The web server's sessions and API tokens, shared by its worker processes. Transient:
    # not in the Merkle log (see docs/security.md, "Sessions across workers"). The session id
    # is never stored: only its SHA-256; the user's unlocked keys and a pending form step are
    # sealed under a key derived from the id, which only the cookie (or token) holds.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # browser or token
    Column("username", String(100)),
    Column("role", String(20)),
    Column("copy", String(64)),  # digest of the key copy the user logged in with
    Column("created", Float, nullable=False),  # seconds, the server's clock
    Column("last_seen", Float, nullable=False),
    Column("sealed_keys", LargeBinary),  # sealed: the user's unlocked keys
    Column("pending", LargeBinary),  # sealed: a form step waiting (a pending import)
    Column("pending_rev", Integer, nullable=False, default=0),
    Index("ix_web_sessions_username", "username"),
)

web_lockouts = Table(
    "web_lockouts",
    metadata,
    # Failed logins in a row per user name (by digest), and the lockout they led to.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name_digest", String(64), nullable=False, unique=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("locked_until", Float),
)

web_totp_steps = Table(
    "web_totp_steps",
    metadata,
    # The last second-factor time step accepted per user name (by digest): a code is accepted
    # once, whichever worker sees it.
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name_digest", String(64), nullable=False, unique=True),
    Column("step", BigInteger, nullable=False),
)
