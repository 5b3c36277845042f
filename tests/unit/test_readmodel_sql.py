"""The read model's writes as SQL text (``gatepass.readmodel.sql``): every statement the projector
and the Cognito trigger run names tables, columns and conflict keys the schema has (the web tests
run them against PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import Table

from gatepass.dal.stock import shard_item
from gatepass.readmodel import people, projection, schema, sql
from gatepass.readmodel.cache import NoInvalidation
from gatepass.streams import StreamRecord
from tests.conftest import load_event

pytestmark = pytest.mark.unit

INSERT = re.compile(
    r'^INSERT INTO "(\w+)" \(([^)]*)\) VALUES \(((?:%\(\w+\)s(?:, )?)*)\)'
    r"(?: ON CONFLICT \(([^)]*)\))?"
)


class _Recording:
    """Stands in for a psycopg connection: keeps each statement and its parameters."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []

    def execute(self, statement: str, parameters: dict[str, Any]) -> _Recording:
        self.executed.append((statement, parameters))
        return self

    def fetchone(self) -> tuple[str]:
        return ("applied",)

    rowcount = 1


class _Database:
    def __init__(self) -> None:
        self.connection = _Recording()

    @contextmanager
    def begin(self) -> Iterator[_Recording]:
        yield self.connection


def _names(text: str) -> list[str]:
    return [part.strip().strip('"') for part in text.split(",")]


def _conflict_targets(table: Table) -> set[tuple[str, ...]]:
    """The column sets ON CONFLICT may name: the primary key and each unique constraint."""
    targets = {tuple(column.name for column in table.primary_key.columns)}
    for constraint in table.constraints:
        columns = tuple(getattr(constraint, "columns", ()))
        if columns and getattr(constraint, "__visit_name__", "") == "unique_constraint":
            targets.add(tuple(column.name for column in columns))
    return targets


def _check_against_schema(statement: str, parameters: dict[str, Any]) -> str:
    found = INSERT.match(statement)
    assert found, statement
    table_name, columns, values, conflict = found.groups()
    table = schema.metadata.tables[table_name]
    assert set(_names(columns)) <= set(table.columns.keys()), statement
    assert [v.strip() for v in values.split(",")] == [f"%({c})s" for c in _names(columns)]
    assert set(_names(columns)) == set(parameters)
    if conflict:
        assert tuple(_names(conflict)) in _conflict_targets(table), statement
    return table_name


def _every_change() -> Iterator[projection.Change]:
    for name in ("projector-ticketing.json", "projector-activity.json"):
        for record in load_event(name)["Records"]:
            change = projection.Change.from_record(StreamRecord(record))
            yield change
            if change.name != "REMOVE":
                yield projection.Change("REMOVE", new_image={}, old_image=change.image)
    shard = shard_item(
        "m5qxizlqmfzxgmbr",
        0,
        available=10,
        types={"ovzgk4tfmzrxizlt": 10},
        starts_at="2027-03-14T19:00:00+00:00",
        status="on_sale",
    )
    yield projection.Change("INSERT", new_image=shard, old_image={})


def test_every_statement_the_projector_runs_names_what_the_schema_has() -> None:
    # Given every kind of change the recorded streams carry, and its removal
    database = _Database()
    for change in _every_change():
        # When each is applied
        projection.apply_change(database, NoInvalidation(), change)  # type: ignore[arg-type]

    # Then every statement inserts into a read-model table, names only its columns, binds one
    # parameter per column, and resolves conflicts on its primary key or a unique constraint
    tables = {_check_against_schema(*executed) for executed in database.connection.executed}
    assert tables >= {
        "events",
        "event_seats",
        "ticket_types",
        "tickets",
        "orders",
        "stock_shards",
        "activities",
        "activity_daily",
    }


def test_every_table_the_projector_writes_is_keyed_as_the_schema_keys_it() -> None:
    for table_name, keys in projection.TABLE_KEYS.items():
        assert keys in _conflict_targets(schema.metadata.tables[table_name]), table_name


def test_the_cognito_trigger_inserts_a_person_once_per_address() -> None:
    parameters = {"email": "", "provider": "", "subject": "", "joined_at": None}
    assert _check_against_schema(people.RECORD_PERSON, parameters) == "people"
    assert people.RECORD_PERSON.endswith('ON CONFLICT ("email") DO NOTHING')


@pytest.mark.parametrize("bad", ["Events", "events; DROP TABLE people", 'x"', "", "1st"])
def test_only_plain_lower_case_names_are_written_into_sql(bad: str) -> None:
    with pytest.raises(ValueError, match="not a read-model name"):
        sql.insert("events", (bad,))
    with pytest.raises(ValueError, match="not a read-model name"):
        sql.upsert_versioned(bad, ("event_id",), ("event_id",))


def test_mappings_are_sent_as_jsonb_and_the_rest_as_they_are() -> None:
    sent = sql.parameters({"types": {"a": 1}, "name": "Stalls", "capacity": 3, "deleted": False})
    assert isinstance(sent["types"], Jsonb)
    assert sent["types"].obj == {"a": 1}
    assert (sent["name"], sent["capacity"], sent["deleted"]) == ("Stalls", 3, False)
