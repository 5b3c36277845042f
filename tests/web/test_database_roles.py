"""The site and the projector connect as their own database roles (migration 0002): the site
can only read, the projector can write rows, and neither can change the schema or read what the
migrating user keeps to itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import ProgrammingError

pytestmark = pytest.mark.web


@pytest.fixture
def as_role(database_url: str, clean: None) -> Iterator[object]:
    engine = create_engine(database_url)

    def connect(role: str) -> Connection:
        conn = engine.connect()
        conn.execute(text(f"SET ROLE {role}"))
        return conn

    yield connect
    engine.dispose()


def _refused(conn: Connection, statement: str) -> bool:
    try:
        with conn.begin_nested():
            conn.execute(text(statement))
    except ProgrammingError as exc:
        return "permission denied" in str(exc) or "must be owner" in str(exc)
    return False


EVENT = (
    "INSERT INTO events (event_id, title, starts_at, capacity, organizer, version) "
    "VALUES ('e-roles', 'Roles', now(), 10, 'u-1', 1)"
)


def test_the_site_role_reads_every_table_and_writes_nothing(as_role) -> None:  # type: ignore[no-untyped-def]
    # Given a connection as the site's role
    conn = as_role("gatepass_web")
    tables = (
        conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        .scalars()
        .all()
    )

    # Then every table can be read, and no row or table can be changed
    assert "events" in tables
    for table in tables:
        conn.execute(text(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 (catalog names)
    assert _refused(conn, EVENT)
    assert _refused(conn, "DELETE FROM events")
    assert _refused(conn, "CREATE TABLE scratch (id int)")
    assert _refused(conn, "DROP TABLE events")
    conn.close()


def test_the_projector_role_writes_rows_but_not_the_schema(as_role) -> None:  # type: ignore[no-untyped-def]
    # Given a connection as the projector's role
    conn = as_role("gatepass_projector")

    # When it upserts and deletes a row
    with conn.begin_nested():
        conn.execute(text(EVENT))
        conn.execute(text("UPDATE events SET title = 'Renamed' WHERE event_id = 'e-roles'"))
        title = conn.execute(
            text("SELECT title FROM events WHERE event_id = 'e-roles'")
        ).scalar_one()
        conn.execute(text("DELETE FROM events WHERE event_id = 'e-roles'"))

    # Then the rows changed, and the schema cannot
    assert title == "Renamed"
    assert _refused(conn, "CREATE TABLE scratch (id int)")
    assert _refused(conn, "ALTER TABLE events ADD COLUMN extra int")
    assert _refused(conn, "DROP TABLE events")
    assert _refused(conn, "TRUNCATE events")
    conn.rollback()
    conn.close()


def test_neither_role_is_privileged(as_role) -> None:  # type: ignore[no-untyped-def]
    conn = as_role("gatepass_web")
    rows = conn.execute(
        text(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
            "WHERE rolname IN ('gatepass_web', 'gatepass_projector') ORDER BY rolname"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("gatepass_projector", False, False, False),
        ("gatepass_web", False, False, False),
    ]
    conn.close()


def test_the_sites_engine_signs_in_with_iam_tokens_when_asked(
    web_config, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from typing import Any

    from sqlalchemy import event

    from webapp.readmodel import make_engine

    # Given the task's settings: the read-only role on an RDS host, IAM authentication on
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    config = web_config.model_copy(
        update={
            "DATABASE_URL": "postgresql+psycopg://gatepass_web@db.abc.eu-west-1.rds.amazonaws.com:5432"
            "/gatepass?sslmode=verify-full",
            "DB_IAM_AUTH": True,
            "AWS_REGION": "eu-west-1",
        }
    )
    engine = make_engine(config)
    presented: list[str] = []

    class Stop(Exception):
        pass

    @event.listens_for(engine, "do_connect")
    def _capture(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        presented.append(cparams["password"])
        raise Stop

    # When it opens a connection
    with pytest.raises(Stop):
        engine.connect()

    # Then it presented an rds-db token for gatepass_web instead of a password
    assert "Action=connect" in presented[0]
    assert "DBUser=gatepass_web" in presented[0]
    engine.dispose()
