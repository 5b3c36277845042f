"""The web's PostgreSQL read model: the schema (shared by the web, its Alembic migrations and the
projector), the projection of DynamoDB stream records into it, and the cache generations the
projector bumps so the web's cached reads go stale.

The schema needs SQLAlchemy, which only the web container installs. The projector and the Cognito
trigger write through psycopg (``sql``, ``database``; decision 0089), with redis for the cache;
the other functions never import this package.
"""
