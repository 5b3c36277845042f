"""IAM database authentication for the read model's least-privilege roles.

On RDS the site (``gatepass_web``) and the projector (``gatepass_projector``) have no password:
each new connection presents a short-lived token signed with the caller's AWS credentials
(``rds-db:connect`` on that one database user). The token is made locally, with no call to AWS,
and lives 15 minutes, so it is made again for every new connection, never cached.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def use_iam_tokens(engine: Engine, *, region: str, client: Any = None) -> None:
    """Make every new connection of ``engine`` sign in with a fresh IAM token for its user."""
    if client is None:
        import boto3

        client = boto3.client("rds", region_name=region)
    url = engine.url
    if not url.host or not url.username:
        raise ValueError("IAM database authentication needs a host and a user name")
    host, port, user = url.host, url.port or 5432, url.username

    @event.listens_for(engine, "do_connect")
    def _token(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=region
        )
