"""Give every event created before per-event keys a random key of its own (docs/decisions/0064).

Such an event publishes one key, ``v1``, derived from the shared seed, and still signs new
tickets with it. This rotates each once, through the same rule as ``POST /rotate-event-key``:
a random key pair, sealed with the stack's ``TicketKeysKey``, becomes its signing key, and ``v1``
stays among its verifying keys, so every code already issued keeps working. Running it again
does nothing. In AWS, with credentials that may scan and write the ticketing table and call
``kms:GenerateDataKey`` on the key::

    make backfill-ticket-keys BACKFILL_ARGS="--stack gatepass [--dry-run]"

It prints what it did as JSON (docs/operations.md, "Ticket signing keys").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import boto3

from gatepass.dal.ticket_keys import DynamoTicketKeyStore
from gatepass.errors import GatepassError
from gatepass.logic.ticket_keys import rotate_event_key
from gatepass.models.ticket_keys import RotateEventKeyRequest
from gatepass.ticket_keys import EventTicketKeys


def backfill(table: str, kms_key_id: str, *, dry_run: bool = False) -> dict[str, Any]:
    store = DynamoTicketKeyStore(table)
    keys = EventTicketKeys(store, kms_key_id=kms_key_id)
    pending = store.events_without_own_key()
    rotated: dict[str, str] = {}
    failed: dict[str, str] = {}
    for event_id in pending if not dry_run else []:
        ring = store.key_ring(event_id)
        if ring is None:
            continue
        try:
            published = rotate_event_key(
                RotateEventKeyRequest(event_id=event_id),
                ring.organizer,
                key_store=store,
                keys=keys,
            )
        except GatepassError as exc:
            failed[event_id] = exc.message
            continue
        rotated[event_id] = published.signing_key_id
    return {"pending": pending, "rotated": rotated, "failed": failed, "dry_run": dry_run}


def _stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    cloudformation = boto3.client("cloudformation", region_name=region)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the deployed root stack")
    parser.add_argument("--region")
    parser.add_argument("--dry-run", action="store_true", help="list the events, change nothing")
    args = parser.parse_args(argv)
    if args.region:
        os.environ["AWS_REGION"] = args.region
    outputs = _stack_outputs(args.stack, args.region)
    report = backfill(
        outputs["TicketingTableName"], f"alias/{args.stack}-ticket-keys", dry_run=args.dry_run
    )
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
