"""The projector's and the Cognito trigger's one connection to the read model
(``gatepass.readmodel.database.Database``), against real PostgreSQL: transactions commit or
roll back whole, and a connection the server dropped or that is too old is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from gatepass.readmodel.database import Database, libpq_url
from gatepass.readmodel.people import record_person

pytestmark = pytest.mark.web


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
def database(clean: None, database_url: str, clock: _Clock) -> Iterator[Database]:
    # The session's URL names SQLAlchemy's dialect (the web's engine), which DATABASE_URL may too.
    assert database_url.startswith("postgresql+psycopg://")
    opened = Database(database_url, recycle_seconds=300, clock=clock)
    yield opened
    opened.close()


def _people(database_url: str) -> list[str]:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return [row[0] for row in connection.execute("SELECT email FROM people ORDER BY email")]


def _record(database: Database, email: str) -> bool:
    return record_person(
        database, email=email, provider="cognito:pool", subject=email, joined_at=datetime.now(UTC)
    )


def _backend(database: Database) -> int:
    with database.begin() as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def test_a_transaction_commits_whole_or_not_at_all(database: Database, database_url: str) -> None:
    # Given one person recorded, and a transaction that records another and then fails
    assert _record(database, "ada@example.org")

    def failing_record() -> None:
        with database.begin() as connection:
            connection.execute(
                "INSERT INTO people (email, provider, subject, joined_at) "
                "VALUES ('bob@example.org', 'p', 's', now())"
            )
            raise RuntimeError("the record failed halfway")

    with pytest.raises(RuntimeError):
        failing_record()

    # Then only the first is there, the same person again changes nothing, and the connection
    # goes on serving
    assert _people(database_url) == ["ada@example.org"]
    assert not _record(database, "ada@example.org")
    assert _record(database, "carol@example.org")
    assert _people(database_url) == ["ada@example.org", "carol@example.org"]


def test_a_connection_the_server_dropped_is_replaced(database: Database, database_url: str) -> None:
    # Given the kept connection, ended by the server while the container was frozen
    first = _backend(database)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))

    # When the next record comes, Then it is written over a new connection
    assert _record(database, "ada@example.org")
    assert _backend(database) != first
    assert _people(database_url) == ["ada@example.org"]


def test_a_connection_is_kept_then_replaced_once_it_is_old(
    database: Database, clock: _Clock
) -> None:
    # Given a connection four minutes old, Then it is still the one used
    first = _backend(database)
    clock.now += 240
    assert _backend(database) == first
    # When it is five minutes old, Then a new one replaces it
    clock.now += 60
    second = _backend(database)
    assert second != first
    assert _backend(database) == second


def test_a_database_that_cannot_be_reached_fails_the_transaction(clean: None) -> None:
    # Given nothing listening where the read model should be
    unreachable = Database("postgresql://gatepass@127.0.0.1:9/gatepass", connect_timeout=1)
    # Then the transaction fails with psycopg's error (the projector reports the records failed)
    with pytest.raises(psycopg.OperationalError):
        _record(unreachable, "ada@example.org")
