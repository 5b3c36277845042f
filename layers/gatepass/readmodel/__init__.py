"""The web's PostgreSQL read model: the schema (shared by the web, its Alembic migrations and the
projector), the projection of DynamoDB stream records into it, and the cache generations the
projector bumps so the web's cached reads go stale.

Needs SQLAlchemy, psycopg and redis, which the web container and the projector function install;
the other functions never import this package.
"""
