"""Starting Step Functions executions: the only code that talks to Step Functions."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients
from gatepass.dal.storage import error_code


class WorkflowStartError(RuntimeError):
    """Step Functions did not accept the execution."""


class Workflow(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None:
        """Start one execution called ``name``; starting the same name again is harmless."""


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str) -> None:
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> None:
        try:
            clients.client("stepfunctions").start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(payload, separators=(",", ":"), sort_keys=True),
            )
        except ClientError as exc:
            # The name is unique per attempt: an existing execution is this same start, retried.
            if error_code(exc) == "ExecutionAlreadyExists":
                return
            raise WorkflowStartError(str(exc)) from exc
        except BotoCoreError as exc:
            raise WorkflowStartError(str(exc)) from exc
