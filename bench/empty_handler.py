"""The cold-start suite's zero for instruction counts: a handler that does nothing.

Counted under callgrind like every subject, it is what the interpreter's start and the bench's
child do around the timed interval (reading the event, printing the result); its count is taken
off the floor's and each subject's before their ratio is made."""

from __future__ import annotations

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "{}"}
