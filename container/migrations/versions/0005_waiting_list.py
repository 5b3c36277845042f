"""The waiting list (docs/decisions/0051): entries and offers, and each type's line counters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _versioned() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
    ]


def upgrade() -> None:
    for name in ("queue", "unassigned"):
        op.add_column(
            "ticket_types",
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False),
        )
    op.create_table(
        "waitlist_entries",
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("ticket_type_id", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_id", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_versioned(),
        sa.PrimaryKeyConstraint("entry_id", name="pk_waitlist_entries"),
    )
    op.create_index(
        "ix_waitlist_entries_line",
        "waitlist_entries",
        ["event_id", "ticket_type_id", "status", "joined_at", "entry_id"],
    )
    op.create_index("ix_waitlist_entries_person_status", "waitlist_entries", ["person", "status"])
    op.create_table(
        "waitlist_offers",
        sa.Column("offer_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("ticket_type_id", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        *_versioned(),
        sa.PrimaryKeyConstraint("offer_id", name="pk_waitlist_offers"),
    )
    op.create_index("ix_waitlist_offers_person", "waitlist_offers", ["person"])
    op.create_index(
        "ix_waitlist_offers_event_id_ticket_type_id",
        "waitlist_offers",
        ["event_id", "ticket_type_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_waitlist_offers_event_id_ticket_type_id", table_name="waitlist_offers")
    op.drop_index("ix_waitlist_offers_person", table_name="waitlist_offers")
    op.drop_table("waitlist_offers")
    op.drop_index("ix_waitlist_entries_person_status", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_line", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    op.drop_column("ticket_types", "unassigned")
    op.drop_column("ticket_types", "queue")
