"""Replay the projector's dead-letter queue (``gatepass.readmodel.replay``).

In AWS, with credentials that may read the stack, receive and delete on the queue, read the
stream and the tables, and invoke the projector::

    make replay-projector REPLAY_ARGS="--stack gatepass"

Against ``make dev``'s stack (the addresses it prints; the database and cache URLs are its
DATABASE_URL and REDIS_URL)::

    make replay-projector REPLAY_ARGS="--local --aws-url http://127.0.0.1:5000 \\
        --database-url postgresql://... --redis-url redis://..."

It prints what it did as JSON and exits 1 if any dead letter is left in the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import boto3

from gatepass.readmodel.replay import Invoke, replay_dead_letters


def _stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    cloudformation = boto3.client("cloudformation", region_name=region)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def lambda_invoker(function_name: str, region: str | None) -> Invoke:
    client = boto3.client("lambda", region_name=region)

    def invoke(event: dict[str, Any]) -> Any:
        answer = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            # The whole batch failed: report every record so the letter is kept.
            return {"batchItemFailures": [{"itemIdentifier": "*"}], "error": payload}
        return payload

    return invoke


def local_invoker(aws_url: str, database_url: str, redis_url: str) -> Invoke:
    """The projector in this process, with make dev's environment."""
    from devstack.aws import handler_environment
    from devstack.functions import FunctionHost
    from devstack.template import TemplateModel

    model = TemplateModel()
    os.environ.update(handler_environment(model, aws_url))
    for name in ("DATABASE_HOST", "DATABASE_SECRET_ARN"):
        os.environ.pop(name, None)
    os.environ.update(DATABASE_URL=database_url, DATABASE_SSLMODE="disable", REDIS_URL=redis_url)
    host = FunctionHost(model)
    return lambda event: host.invoke("ProjectorFunction", event)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replay the projector's dead-letter queue.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the deployed root stack (reads its outputs)")
    where.add_argument("--local", action="store_true", help="make dev's stack")
    parser.add_argument("--region")
    parser.add_argument("--aws-url", help="--local: the AWS stand-in's address")
    parser.add_argument("--database-url", help="--local: the read model")
    parser.add_argument("--redis-url", help="--local: the cache")
    args = parser.parse_args(argv)

    if args.local:
        if not (args.aws_url and args.database_url and args.redis_url):
            parser.error("--local needs --aws-url, --database-url and --redis-url")
        from devstack.aws import FAKE_CREDENTIALS
        from devstack.template import TemplateModel

        os.environ.update(FAKE_CREDENTIALS)
        model = TemplateModel()
        region = model.region

        def client(service: str) -> Any:
            return boto3.client(service, region_name=region, endpoint_url=args.aws_url)

        sqs = client("sqs")
        queue_url = sqs.get_queue_url(
            QueueName=model.attribute("ProjectorDeadLetterQueue", "QueueName")
        )["QueueUrl"]
        invoke = local_invoker(args.aws_url, args.database_url, args.redis_url)
        streams, dynamodb = client("dynamodbstreams"), client("dynamodb")
    else:
        outputs = _stack_outputs(args.stack, args.region)
        queue_url = outputs["ProjectorDeadLetterQueueUrl"]
        invoke = lambda_invoker(outputs["ProjectorFunctionName"], args.region)
        sqs = boto3.client("sqs", region_name=args.region)
        streams = boto3.client("dynamodbstreams", region_name=args.region)
        dynamodb = boto3.client("dynamodb", region_name=args.region)

    report = replay_dead_letters(
        queue_url, sqs=sqs, streams=streams, dynamodb=dynamodb, invoke=invoke
    )
    json.dump(report.as_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 1 if report.kept else 0


if __name__ == "__main__":
    raise SystemExit(main())
