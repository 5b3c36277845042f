"""Recording a person who joined through the identity provider, once (replays change nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from gatepass.readmodel.sql import insert, name

if TYPE_CHECKING:
    from gatepass.readmodel.database import Database

# The people table (gatepass.readmodel.schema): one row per address.
RECORD_PERSON = insert(
    "people",
    ("email", "provider", "subject", "joined_at"),
    f"ON CONFLICT ({name('email')}) DO NOTHING",
)


def record_person(
    database: Database, *, email: str, provider: str, subject: str, joined_at: datetime
) -> bool:
    """Insert the person; False when they were already recorded."""
    row = {"email": email, "provider": provider, "subject": subject, "joined_at": joined_at}
    with database.begin() as connection:
        return connection.execute(RECORD_PERSON, row).rowcount == 1
