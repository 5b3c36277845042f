"""One cold start, run as a script in a fresh interpreter by ``bench.coldstart``.

Everything before ``started`` is the same for the floor (``bench/floor_handler.py``) and for a
function (reading the event file); the timed interval is the import of the handler module and
serving the first event. AWS is moto in another process, so nothing heavy is imported before
the timer starts.

argv: handler <module> <event file>. Prints one JSON line.
"""

import json
import os
import sys
import time

NOT_DEPLOYED = frozenset(filter(None, os.environ.get("BENCH_NOT_DEPLOYED", "").split(",")))


class NotDeployed:
    """Refuses packages the function's deployment would not have (see ``bench.deployment``)."""

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.partition(".")[0] in NOT_DEPLOYED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NotDeployed())
mode, module_name, event_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(event_path) as source:
    event = json.load(source)


class Context:
    function_name = "gatepass-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gatepass-bench"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/gatepass-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


HEAVY = ("PIL", "qrcode", "cryptography", "sqlalchemy", "psycopg", "redis", "aws_xray_sdk")
outcome = "ok"
if mode != "handler":
    sys.exit(f"unknown mode {mode!r}")
else:
    import importlib

    context = Context()
    started = time.perf_counter()
    cpu_started = time.process_time()
    handler = importlib.import_module(module_name).lambda_handler
    imported = time.perf_counter()
    try:
        answer = handler(event, context)
    except Exception as exc:  # the authorizer answers 401 by raising
        answer = {"raised": str(exc)}
    finished = time.perf_counter()
    cpu_finished = time.process_time()
    if isinstance(answer, dict) and "statusCode" in answer:
        outcome = str(answer["statusCode"])
    elif isinstance(answer, dict) and "raised" in answer:
        outcome = "raised " + answer["raised"]
    elif isinstance(answer, dict) and "policyDocument" in answer:
        outcome = answer["policyDocument"]["Statement"][0]["Effect"]
    elif isinstance(answer, dict) and "results" in answer:
        outcome = ",".join(str(r.get("result")) for r in answer["results"])
    elif isinstance(answer, dict) and "batchItemFailures" in answer:
        outcome = f"{len(answer['batchItemFailures'])} failed records"
heavy = sorted(m for m in HEAVY if m in sys.modules)
print(
    json.dumps(
        {
            "seconds": finished - started,
            "cpu_seconds": cpu_finished - cpu_started,
            "import_seconds": imported - started,
            "outcome": outcome,
            "heavy": heavy,
        }
    )
)
