"""``--only signin``: do ``/subscribe`` and ``/send-otp`` take as long for an address that has an
account as for one that has none (issue 10, item 3)?

Both answer every address with the same status and body and do the same DynamoDB and SNS work;
only the last call differs (StartExecution or Publish for one, nothing for the other), and
``gatepass.equalise.StandIn`` waits about as long where it is not made. This measures the
handlers in-process against moto's server over HTTP (the template's resources), alternating a
subscribed address and an unknown one, each a fresh address (one sign-in mail per address per
five minutes: a repeated address would take the shorter "already sent" path, which is the same
for both kinds). The numbers say how close the two are here; on AWS, DynamoDB's and SNS's own
variation is larger than the difference.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.coldstart import World
from bench.common import summary


def _active(email: str, topic_arn: str, table: Any, sns: Any) -> None:
    from gatepass.dal.layout import subscription_key

    arn = sns.subscribe(
        TopicArn=topic_arn, Protocol="email", Endpoint=email, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    table.put_item(
        Item={
            **subscription_key(email),
            "email": email,
            "status": "active",
            "attempt": 1,
            "subscription_arn": arn,
            "version": 3,
        }
    )


def run(world: World, rounds: int, per_round: int) -> dict[str, Any]:
    import boto3

    from functions.send_otp import app as send_otp_app
    from functions.subscribe import app as subscribe_app
    from tests.support.api import LambdaContext, api_event

    world.reset()
    context = LambdaContext()
    settings = send_otp_app.settings
    table = boto3.resource("dynamodb", endpoint_url=world.url).Table(settings.identity_table)
    sns = boto3.client("sns", endpoint_url=world.url)
    topic = str(settings.mail_topic_arn)

    def timed(handler: Any, path: str, email: str) -> float:
        event = api_event("POST", path, body={"email": email})
        started = time.perf_counter()
        answer = handler(event, context)
        took = time.perf_counter() - started
        assert answer["statusCode"] == 202, answer
        return took

    def fresh(kind: str) -> str:
        return f"bench-{kind}-{uuid.uuid4().hex[:12]}@example.com"

    samples: dict[str, dict[str, list[float]]] = {
        route: {"account": [], "none": []} for route in ("send-otp", "subscribe")
    }
    routes = {
        "send-otp": (send_otp_app.lambda_handler, "/send-otp"),
        "subscribe": (subscribe_app.lambda_handler, "/subscribe"),
    }
    # Warm: the first calls fetch secrets and teach the stand-ins how long the real call takes.
    for handler, path in routes.values():
        for _ in range(5):
            known = fresh("warm")
            _active(known, topic, table, sns)
            timed(handler, path, known)
            timed(handler, path, fresh("warm"))
    for _ in range(rounds):
        per: dict[str, dict[str, list[float]]] = {
            route: {"account": [], "none": []} for route in routes
        }
        for _ in range(per_round):
            for route, (handler, path) in routes.items():
                known = fresh("known")
                _active(known, topic, table, sns)
                per[route]["account"].append(timed(handler, path, known))
                per[route]["none"].append(timed(handler, path, fresh("new")))
        for route in routes:
            for kind in ("account", "none"):
                ordered = sorted(per[route][kind])
                samples[route][kind].append(ordered[len(ordered) // 2])
    return {
        "calls_per_round": per_round,
        "routes": {
            route: {kind: summary(values) for kind, values in kinds.items()}
            for route, kinds in samples.items()
        },
    }
