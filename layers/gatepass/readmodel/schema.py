"""Read-model tables (SQLAlchemy Core).

Every projected row keeps the DynamoDB item's ``version``; upserts only replace a row with a
higher version, so replays and out-of-order deliveries never move a row backwards. Deleted items
become tombstones (``deleted``) with a version above the last one, so a late replay of an older
change cannot bring them back.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Title outweighs description, which outweighs venue, when ranking search results.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(venue, '')), 'C')"
)

events = Table(
    "events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("venue", Text, nullable=False, server_default=""),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("starts_at_local", Text),
    Column("capacity", Integer, nullable=False),
    Column("organizer", Text, nullable=False),
    Column("image_status", Text, nullable=False, server_default="none"),
    Column("image_reason", Text),
    Column("image_display_key", Text),
    Column("image_thumbnail_key", Text),
    Column("image_width", Integer),
    Column("image_height", Integer),
    Column("verifying_key", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Column("search", TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True)),
    Column("max_tickets_per_buyer", Integer, nullable=False, server_default=text("1")),
    Index(None, "search", postgresql_using="gin"),
    Index(None, "starts_at"),
    Index(None, "organizer", "starts_at"),
)

# The event's seats counter and its ticket types: items of their own in DynamoDB, each with its
# own version (docs/decisions/0050), so each is a row of its own here.
event_seats = Table(
    "event_seats",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("sold", Integer, nullable=False, server_default=text("0")),
    Column("held", Integer, nullable=False, server_default=text("0")),
    Column("checked_in", Integer, nullable=False, server_default=text("0")),
    Column("status", Text, nullable=False, server_default="on_sale"),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
)

ticket_types = Table(
    "ticket_types",
    metadata,
    Column("ticket_type_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("quota", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("sold", Integer, nullable=False, server_default=text("0")),
    Column("held", Integer, nullable=False, server_default=text("0")),
    Column("checked_in", Integer, nullable=False, server_default=text("0")),
    Column("opens_at", DateTime(timezone=True)),
    Column("closes_at", DateTime(timezone=True)),
    Column("max_per_order", Integer, nullable=False),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    # The waiting list's counters (docs/decisions/0051): people waiting with no seat set aside,
    # and seats set aside for the line not yet offered.
    Column("queue", Integer, nullable=False, server_default=text("0")),
    Column("unassigned", Integer, nullable=False, server_default=text("0")),
    Index(None, "event_id", "position"),
)

# An event's stock shards (docs/decisions/0070): one row per ``STOCK#<event_id>#<k>`` item, each
# with its own version. With shards the seats and type rows above hold only the event's pool;
# its counts are the pool plus these rows' sums (``types``/``types_sold``: type id -> count).
stock_shards = Table(
    "stock_shards",
    metadata,
    Column("event_id", Text, nullable=False),
    Column("shard", Integer, nullable=False),
    Column("available", Integer, nullable=False),
    Column("sold", Integer, nullable=False, server_default=text("0")),
    Column("types", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("types_sold", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", Text, nullable=False, server_default="on_sale"),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("event_id", "shard"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("buyer", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("ticket_count", Integer, nullable=False),
    Column("live_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Index(None, "buyer", "created_at"),
    Index(None, "event_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Text, primary_key=True),
    # No foreign key: stream records of different items arrive in no guaranteed order.
    Column("event_id", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("code", Text),
    Column("qr_key", Text),
    Column("issued_at", DateTime(timezone=True)),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("checked_in_by", Text),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Column("order_id", Text),
    Column("ticket_type_id", Text),
    Column("attendee_name", Text),
    Column("buyer", Text),
    Column("revoked_reason", Text),
    Column("transferred_to", Text),
    Column("transferred_from", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Index(None, "event_id", "holder"),
    Index(None, "holder", "issued_at"),
    Index(None, "order_id"),
    Index(None, "event_id", "ticket_type_id"),
)

# The waiting list (docs/decisions/0051): one row per entry (a person's place in a type's line,
# ordered by joined_at then entry_id) and one per offer of a freed seat.
waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("entry_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("ticket_type_id", Text, nullable=False),
    Column("person", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("offer_id", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Index(
        "ix_waitlist_entries_line", "event_id", "ticket_type_id", "status", "joined_at", "entry_id"
    ),
    Index("ix_waitlist_entries_person_status", "person", "status"),
)

waitlist_offers = Table(
    "waitlist_offers",
    metadata,
    Column("offer_id", Text, primary_key=True),
    Column("event_id", Text, nullable=False),
    Column("ticket_type_id", Text, nullable=False),
    Column("person", Text, nullable=False),
    Column("entry_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("order_id", Text),
    Column("updated_at", DateTime(timezone=True)),
    Column("version", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Index(None, "person"),
    Index(None, "event_id", "ticket_type_id"),
)

# One row per activity record: inserting it is what makes counting it idempotent. When the
# record expires (DynamoDB TTL) the row keeps only what the aggregates need.
activities = Table(
    "activities",
    metadata,
    Column("activity_id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("actor", Text),
    Column("event_id", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("properties", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Index(None, "event_id", "at"),
)

# Per event (empty string for none), per UTC day, per type: how many activity records.
activity_daily = Table(
    "activity_daily",
    metadata,
    Column("event_id", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("type", Text, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("event_id", "day", "type"),
)

# People who joined through the stack's identity provider (Cognito's post-confirmation trigger).
people = Table(
    "people",
    metadata,
    Column("email", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
)

TRUNCATE_ORDER = (
    "waitlist_offers",
    "waitlist_entries",
    "people",
    "activity_daily",
    "activities",
    "tickets",
    "orders",
    "ticket_types",
    "stock_shards",
    "event_seats",
    "events",
)
