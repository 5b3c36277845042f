"""Ticket types, orders and seats (docs/decisions/0050).

The events' counters move to ``event_seats``: rows already there are copied at version 0, so
the first stream record of an event's seats item (version 1 and up) replaces them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _versioned() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "event_seats",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("held", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("checked_in", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.Text(), server_default="on_sale", nullable=False),
        *_versioned(),
        sa.PrimaryKeyConstraint("event_id", name="pk_event_seats"),
    )
    op.execute(
        "INSERT INTO event_seats (event_id, capacity, available, sold, held, checked_in, "
        "status, version, deleted) SELECT event_id, capacity, GREATEST(capacity - sold, 0), "
        "sold, 0, checked_in, 'on_sale', 0, deleted FROM events"
    )
    op.drop_column("events", "sold")
    op.drop_column("events", "checked_in")
    op.add_column(
        "events",
        sa.Column(
            "max_tickets_per_buyer", sa.Integer(), server_default=sa.text("1"), nullable=False
        ),
    )

    op.create_table(
        "ticket_types",
        sa.Column("ticket_type_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("held", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("checked_in", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_per_order", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        *_versioned(),
        sa.PrimaryKeyConstraint("ticket_type_id", name="pk_ticket_types"),
    )
    op.create_index("ix_ticket_types_event_id_position", "ticket_types", ["event_id", "position"])

    op.create_table(
        "orders",
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("buyer", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("ticket_count", sa.Integer(), nullable=False),
        sa.Column("live_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_versioned(),
        sa.PrimaryKeyConstraint("order_id", name="pk_orders"),
    )
    op.create_index("ix_orders_buyer_created_at", "orders", ["buyer", "created_at"])
    op.create_index("ix_orders_event_id", "orders", ["event_id"])

    for name in (
        "order_id",
        "ticket_type_id",
        "attendee_name",
        "buyer",
        "revoked_reason",
        "transferred_to",
        "transferred_from",
    ):
        op.add_column("tickets", sa.Column(name, sa.Text(), nullable=True))
    op.add_column("tickets", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tickets_order_id", "tickets", ["order_id"])
    op.create_index("ix_tickets_event_id_ticket_type_id", "tickets", ["event_id", "ticket_type_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_event_id_ticket_type_id", table_name="tickets")
    op.drop_index("ix_tickets_order_id", table_name="tickets")
    for name in (
        "revoked_at",
        "transferred_from",
        "transferred_to",
        "revoked_reason",
        "buyer",
        "attendee_name",
        "ticket_type_id",
        "order_id",
    ):
        op.drop_column("tickets", name)
    op.drop_index("ix_orders_event_id", table_name="orders")
    op.drop_index("ix_orders_buyer_created_at", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_ticket_types_event_id_position", table_name="ticket_types")
    op.drop_table("ticket_types")
    op.drop_column("events", "max_tickets_per_buyer")
    op.add_column(
        "events", sa.Column("sold", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "events",
        sa.Column("checked_in", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        "UPDATE events SET sold = s.sold, checked_in = s.checked_in "
        "FROM event_seats s WHERE s.event_id = events.event_id"
    )
    op.drop_table("event_seats")
