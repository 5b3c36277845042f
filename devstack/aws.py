"""The AWS stand-in: moto in server mode, in this process, with template.yaml's resources."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

import boto3
from botocore.config import Config

from devstack.template import TemplateModel

log = logging.getLogger("devstack.aws")

# The services the local stack calls itself (pumps and wiring); the functions make their own.
AwsService = Literal["dynamodb", "dynamodbstreams", "s3", "sns", "sqs"]

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoStandIn:
    def __init__(self, model: TemplateModel, port: int, host: str = "127.0.0.1") -> None:
        self.model = model
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self._server: Any = None

    def start(self) -> None:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        # The Step Functions interpreter calls services through MOTO_PORT, and only runs
        # workflows when this switch is on (the server's /moto-api/config sets the same dict).
        os.environ["MOTO_PORT"] = str(self.port)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()

    def create_resources(self) -> None:
        self.model.create_all(self.session(), endpoint_url=self.url)

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.model.region,
        )

    def clients(self) -> Callable[[AwsService], Any]:
        session = self.session()
        config = Config(retries={"max_attempts": 2}, connect_timeout=3, read_timeout=30)

        @cache
        def client(service: AwsService) -> Any:
            return session.client(service, endpoint_url=self.url, config=config)

        return client

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


def handler_environment(model: TemplateModel, endpoint_url: str) -> dict[str, str]:
    """What every in-process function sees: the template's variables, pointed at the stand-in."""
    env = dict(model.all_function_env())
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": model.region,
            "AWS_DEFAULT_REGION": model.region,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    return env
