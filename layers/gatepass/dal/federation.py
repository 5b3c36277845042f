"""One use per ID token, in the IdentityTable.

Key (``dal.layout.used_id_token_key``, docs/architecture.md): one item per exchanged token,
expiring with the token itself, so a replayed ID token finds its mark and is refused.
"""

from __future__ import annotations

from typing import Protocol

from botocore.exceptions import ClientError

from gatepass import clients
from gatepass.dal.layout import used_id_token_key
from gatepass.dal.storage import condition_failed


class IdTokenLedger(Protocol):
    def use_once(self, fingerprint: str, *, expires_at: int) -> bool: ...


class DynamoIdTokenLedger:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def use_once(self, fingerprint: str, *, expires_at: int) -> bool:
        """Record the token as used; False when it already was."""
        try:
            clients.dynamodb_table(self.table_name).put_item(
                Item={**used_id_token_key(fingerprint), "expires_at": expires_at},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True
