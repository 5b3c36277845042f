"""Recording a person who joined through the identity provider, once (replays change nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert

from gatepass.readmodel.schema import people


def record_person(
    engine: Engine, *, email: str, provider: str, subject: str, joined_at: datetime
) -> bool:
    """Insert the person; False when they were already recorded."""
    statement = (
        insert(people)
        .values(email=email, provider=provider, subject=subject, joined_at=joined_at)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    with engine.begin() as connection:
        return bool(connection.execute(statement).rowcount)
