"""IAM database authentication for the read model's least-privilege roles.

On RDS the site (``gatepass_web``) and the projector (``gatepass_projector``) have no password:
each new connection presents a short-lived token signed with the caller's AWS credentials
(``rds-db:connect`` on that one database user). The token is made locally, with no call to AWS,
and lives 15 minutes, so it is made again for every new connection, never cached. The projector's
``Database`` asks ``token_maker``'s function for one at each connection, and so does the web's
engine (``webapp.readmodel.use_iam_tokens``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def token_maker(
    *, host: str, port: int, user: str, region: str, client: Any = None
) -> Callable[[], str]:
    """What makes a fresh token for ``user`` on ``host`` at each call (one per connection)."""
    if client is None:
        import boto3

        client = boto3.client("rds", region_name=region)

    def token() -> str:
        made: str = client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=region
        )
        return made

    return token
