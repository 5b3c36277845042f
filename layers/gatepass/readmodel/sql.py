"""The read model's writes as SQL text for psycopg: what the projector and the Cognito trigger
run (decision 0089), without SQLAlchemy.

Table and column names are those of ``gatepass.readmodel.schema``, which the web and its
migrations use; ``tests/unit/test_readmodel_sql.py`` checks every statement's names against it,
and the web tests run every statement against PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from psycopg.types.json import Jsonb

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def name(identifier: str) -> str:
    """A table or column name, quoted (``type``, ``day`` and ``at`` are SQL words too)."""
    if not _NAME.fullmatch(identifier):
        raise ValueError(f"not a read-model name: {identifier!r}")
    return f'"{identifier}"'


@cache
def insert(table: str, names: tuple[str, ...], tail: str = "") -> str:
    """``INSERT`` of one row whose values are the named parameters of ``names`` (built once per
    table, columns and tail: a projector applies the same few statements to every record)."""
    # Names only from name(), which refuses anything but a plain lower-case name; every value
    # is a parameter.
    text = (
        f"INSERT INTO {name(table)} ({', '.join(map(name, names))}) "  # noqa: S608
        f"VALUES ({', '.join(f'%({column})s' for column in names)})"
    )
    return f"{text} {tail}" if tail else text


@cache
def upsert_versioned(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    """Insert the row, or replace the one with its keys only if that one has a lower
    ``version``; ``RETURNING`` yields a row only when it was inserted or replaced."""
    updates = ", ".join(
        f"{name(column)} = excluded.{name(column)}" for column in columns if column not in keys
    )
    return insert(
        table,
        columns,
        f"ON CONFLICT ({', '.join(map(name, keys))}) DO UPDATE SET {updates} "
        f'WHERE {name(table)}."version" < excluded."version" RETURNING {name(keys[0])}',
    )


def parameters(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's values as psycopg sends them: a mapping is a JSONB document."""
    return {
        key: Jsonb(value) if isinstance(value, Mapping) else value for key, value in row.items()
    }
