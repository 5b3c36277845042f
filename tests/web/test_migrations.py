"""The Alembic migrations are what builds the read model: they must produce exactly the schema
the code uses, and go down and up again cleanly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from gatepass.readmodel.schema import metadata
from tests.web import servers

pytestmark = pytest.mark.web


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """An empty database next to the test one."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS gatepass_migrations"))
        conn.execute(text("CREATE DATABASE gatepass_migrations"))
    url = make_url(database_url).set(database="gatepass_migrations")
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS gatepass_migrations WITH (FORCE)"))
    admin.dispose()


def test_migrations_build_exactly_the_schema_the_code_uses(database_url: str) -> None:
    # Given the test database migrated to head (by the fixtures)
    engine = create_engine(database_url)

    # When Alembic compares it with the SQLAlchemy schema
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
        search_index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_search'")
        ).scalar_one()
    engine.dispose()

    # Then nothing differs, and search is served by a GIN index
    assert differences == []
    assert "USING gin (search)" in search_index


def test_migrations_go_down_and_up_again(scratch_database: str) -> None:
    # Given an empty database
    engine = create_engine(scratch_database)

    # When it is migrated up, down to nothing, and up again
    servers.migrate(scratch_database, "head")
    from alembic import command

    command.downgrade(servers.alembic_config(scratch_database), "base")
    with engine.connect() as conn:
        after_down = set(inspect(conn).get_table_names())
    servers.migrate(scratch_database, "head")
    with engine.connect() as conn:
        after_up = set(inspect(conn).get_table_names())
    engine.dispose()

    # Then only Alembic's own table survives the downgrade, and the upgrade restores the rest
    assert after_down == {"alembic_version"}
    assert after_up == {
        "alembic_version",
        "events",
        "event_seats",
        "ticket_types",
        "orders",
        "tickets",
        "activities",
        "activity_daily",
        "people",
        "waitlist_entries",
        "waitlist_offers",
        "stock_shards",
    }
