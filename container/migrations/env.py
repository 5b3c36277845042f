"""Alembic environment for the read model.

The URL is, in order: one a caller put on the Alembic config (tests do), DATABASE_URL, or the
DB_* variables the web uses. Migrations take an advisory lock, so web tasks starting together
(each running ``alembic upgrade head`` before gunicorn) apply them once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from gatepass.readmodel.schema import metadata
from webapp.config import DatabaseSettings

# Any fixed number: the lock only has to be the same for every task.
MIGRATION_LOCK = 7_140_241_901

config = context.config


def _url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return configured or DatabaseSettings.from_env().DATABASE_URL


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), pool_pre_ping=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
