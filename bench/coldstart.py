"""Cold start of every function against the floor: a handler that imports boto3, creates one
client and makes one call (``bench/floor_handler.py``).

Each measurement is a fresh interpreter (``bench/coldstart_child.py``). AWS is moto in server
mode in this process, reset and rebuilt from ``template.yaml`` before every measurement, and
the state the function's ``events/`` file expects is written before the child starts; the
child times the import of the handler module and its first event. See ``bench/method.md``.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

from bench.common import PYTHONPATH, ROOT, paired_ratios, summary
from bench.deployment import not_deployed, requirements_of

EVENTS = ROOT / "events"
# The installed SDK's data, which layers/Makefile slims for the layer (gatepass.slim_models).
BOTOCORE_DATA: str = Loader.BUILTIN_DATA_PATH
CHILD = Path(__file__).resolve().parent / "coldstart_child.py"
# Tracing as deployed (Tracing: Active): Powertools traces when it finds the Lambda variables.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": str(ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "gatepass-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    # Every Lambda environment has it (gatepass.coldstart pauses the collector by it).
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}
IMAGE_FUNCTIONS = frozenset({"ProcessImageFunction"})
# Functions that write the web's PostgreSQL: the bench's embedded one stands in for RDS.
DATABASE_FUNCTIONS = frozenset({"ProjectorFunction", "CognitoPostConfirmationFunction"})
Prepare = Callable[["World", dict[str, Any]], dict[str, Any]]


class TimedApp:
    """moto's WSGI app, adding up the time it spends answering (what AWS's latency would be)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds = 0.0
        self.requests = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        started = time.perf_counter()
        body = list(self.app(environ, start_response))
        with self._lock:
            self.seconds += time.perf_counter() - started
            self.requests += 1
        return body

    def take(self) -> tuple[float, int]:
        with self._lock:
            taken = (self.seconds, self.requests)
            self.seconds, self.requests = 0.0, 0
        return taken


@dataclass
class World:
    """moto's server, with the template's resources, and the env that points gatepass at it."""

    url: str
    model: Any
    timer: TimedApp
    database_url: str | None = None
    redis_url: str | None = None

    def reset(self) -> None:
        import boto3
        import requests

        from gatepass import clients, keys, ticket_keys, tokens

        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()
        clients.reset()
        keys.reset()
        ticket_keys.reset()
        tokens.reset()
        self.model.create_all(boto3.Session(), endpoint_url=self.url)


@contextmanager
def moto_world() -> Iterator[World]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from devstack.servers import ServerThread
    from devstack.template import TemplateModel

    timer = TimedApp(DomainDispatcherApplication(create_backend_app))
    server = ServerThread(timer, "127.0.0.1", 0, "moto").start()
    url = f"http://127.0.0.1:{server.port}"
    model = TemplateModel()
    saved = dict(os.environ)
    os.environ.update(aws_env(model.region))
    os.environ.update(model.all_function_env())
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield World(url=url, model=model, timer=timer)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


def aws_env(region: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


# ---------------------------------------------------------------- first events and their state


def _settings() -> Any:
    from tests.support import factories

    return factories.settings()


def _put_event(**fields: Any) -> dict[str, Any]:
    from tests.support import factories

    return factories.put_event(**fields)


def as_is(world: World, event: dict[str, Any]) -> dict[str, Any]:
    return event


def with_upcoming_events(world: World, event: dict[str, Any]) -> dict[str, Any]:
    for number in range(5):
        _put_event(title=f"Bench night {number}", capacity=100)
    return event


def with_active_subscriber(world: World, event: dict[str, Any]) -> dict[str, Any]:
    from gatepass import clients, clock
    from gatepass.dal.layout import subscription_key

    email = json.loads(event["body"])["email"]
    now = clock.iso(clock.now())
    table = clients.dynamodb_table(_settings().identity_table)
    table.put_item(
        Item={
            **subscription_key(email),
            "email": email,
            "status": "active",
            "attempt": 1,
            "confirmed_at": now,
            "created_at": now,
            "updated_at": now,
            "version": 3,
        }
    )
    return event


def with_code_sent(world: World, event: dict[str, Any]) -> dict[str, Any]:
    import secrets

    from gatepass import clock
    from gatepass.dal.sign_in import DynamoSignInStore
    from gatepass.logic.sign_in import hash_code
    from gatepass.sessions import SecretSessionKeys

    body = json.loads(event["body"])
    settings = _settings()
    moment = clock.epoch()
    DynamoSignInStore(settings.identity_table).put_mail(
        body["email"],
        code_hash=hash_code(
            SecretSessionKeys(settings.session_key_secret_arn).sign_in_code(),
            body["email"],
            body["code"],
        ),
        link_hash=secrets.token_hex(32),
        created_at=clock.iso(clock.now()),
        expires_at=moment + 300,
    )
    return event


def with_fresh_token(world: World, event: dict[str, Any]) -> dict[str, Any]:
    # The sample's token was signed at a fixed time; start a current session, signed with the
    # stack's KMS key and recorded in its session store, as a sign-in would.
    from tests.support.session_keys import start_stack_session

    token = start_stack_session("alice@example.com").token
    return {**event, "authorizationToken": f"Bearer {token}"}


def with_event_on_sale(world: World, event: dict[str, Any]) -> dict[str, Any]:
    _put_event(event_id=json.loads(event["body"])["event_id"], capacity=100)
    return event


def with_ticket_to_show(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The caller's ticket with its QR image stored, as create-ticket leaves it (a missing image
    is the rare path that renders one: tests/integration/test_get_qr_code.py)."""
    from gatepass import clients, qr
    from tests.support import factories

    owner = event["requestContext"]["authorizer"]["principalId"]
    ticket = factories.put_ticket(
        _put_event(), holder=owner, ticket_id=event["queryStringParameters"]["ticket_id"]
    )
    clients.client("s3").put_object(
        Bucket=factories.settings().tickets_bucket,
        Key=ticket["qr_key"],
        Body=qr.render_png(ticket["code"]),
        ContentType="image/png",
    )
    return event


SAMPLE_TICKET_SECRET = "gatepass-sample-ticket-key-for-the-events-folder-only"  # noqa: S105


def with_ticket_at_the_door(world: World, event: dict[str, Any]) -> dict[str, Any]:
    from gatepass import clients, keys, ticket_codes
    from tests.support import factories

    clients.client("secretsmanager").put_secret_value(
        SecretId=_settings().ticket_key_secret_arn, SecretString=SAMPLE_TICKET_SECRET
    )
    keys.reset()
    body = json.loads(event["body"])
    # The sample's code is version 1: its event was created before per-event keys.
    published = ticket_codes.event_verifying_key(factories.ticket_seed(), body["event_id"])
    scanned = ticket_codes.verify_with_public_key(published, body["code"])
    organizer = event["requestContext"]["authorizer"]["principalId"]
    factories.put_ticket(
        _put_event(organizer=organizer, event_id=body["event_id"], legacy=True),
        ticket_id=scanned.ticket_id,
    )
    return event


def with_upload_waiting(world: World, event: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import unquote_plus

    from gatepass import clients, clock
    from tests.support import images

    record = event["Records"][0]["s3"]
    key = unquote_plus(record["object"]["key"])
    event_id = key.split("/")[1]
    item = _put_event(event_id=event_id)
    table = clients.dynamodb_table(_settings().ticketing_table)
    table.update_item(
        Key={"pk": item["pk"], "sk": "META"},
        UpdateExpression="SET image_status = :s, image_upload_key = :k, updated_at = :u",
        ExpressionAttributeValues={
            ":s": "awaiting_upload",
            ":k": key,
            ":u": clock.iso(clock.now()),
        },
    )
    bucket = _settings().uploads_bucket
    clients.client("s3").put_object(
        Bucket=bucket, Key=key, Body=images.jpeg((4000, 3000)), ContentType="image/jpeg"
    )
    return {
        "Records": [
            {
                **event["Records"][0],
                "s3": {**record, "bucket": {**record["bucket"], "name": bucket}},
            }
        ]
    }


ORGANIZER = "organizer@example.com"
ALICE = "alice@example.com"
BOB = "bob@example.com"


def _sample_event_id(event: dict[str, Any]) -> str:
    if event.get("pathParameters"):
        return str(event["pathParameters"]["event_id"])
    return str(json.loads(event["body"])["event_id"])


def with_organizers_event(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The event the sample names, owned by the sample's caller (or anyone, for public reads)."""
    authorizer = event["requestContext"].get("authorizer") or {}
    _put_event(
        event_id=_sample_event_id(event),
        organizer=authorizer.get("principalId", "olivia@example.com"),
    )
    return event


def with_ticket_type_to_update(world: World, event: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(event["body"])
    _put_event(
        event_id=body["event_id"],
        organizer=event["requestContext"]["authorizer"]["principalId"],
        ticket_type_ids=[body["ticket_type_id"]],
        capacity=100,
    )
    return event


def with_held_ticket(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The sample's ticket, held by Alice, of an event the sample's caller organizes if an
    organizer calls (reissue), else of another organizer's event."""
    from tests.support import factories

    caller = event["requestContext"]["authorizer"]["principalId"]
    organizer = "olivia@example.com" if caller == ALICE else caller
    if event.get("queryStringParameters"):
        ticket_id = event["queryStringParameters"]["ticket_id"]
    else:
        ticket_id = json.loads(event["body"])["ticket_id"]
    factories.put_ticket(
        _put_event(organizer=organizer, event_id="gq4tmzbx7k2nw5hd", capacity=100),
        holder=ALICE,
        ticket_id=ticket_id,
    )
    return event


def with_live_session(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The session the sample names, begun a minute ago (the sample's own is long expired)."""
    from gatepass import clock
    from gatepass.models.sessions import SessionRecord
    from tests.support.session_keys import stack_sessions

    authorizer = event["requestContext"]["authorizer"]
    began = clock.epoch() - 60
    stack_sessions().create(
        SessionRecord(
            person=authorizer["principalId"],
            session_id=authorizer["sid"],
            created_at=began,
            last_seen_at=began,
            expires_at=began + 3600,
            idle_expires_at=began + 1800,
            idle_seconds=1800,
            methods=(authorizer["amr"],),
        )
    )
    return event


def with_ticket_to_mail(world: World, event: dict[str, Any]) -> dict[str, Any]:
    # As tests/integration/test_deliver_tickets.py: the event and ticket the record announces.
    from tests.support import factories

    sold = _put_event(
        event_id="m5qxizlqmfzxgmbr", title="Harbour Lights", ticket_type_ids=["k2fzq7hx3wma5ndr"]
    )
    factories.put_ticket(sold, holder="ada@example.com", ticket_id="t7wq3mzka4xe2ubn")
    return event


# The waiting-list samples' event, type and the offer the claim names.
WAITLIST_EVENT, WAITLIST_TYPE = "m5qxizlqmfzxgmbr", "nbswy3dpeb3w64tm"
SAMPLE_OFFER = "mfzgs3tfmvzgk3tb"


def _sold_out_type() -> dict[str, Any]:
    """The samples' sold-out event and type (capacity 1, Alice holds the seat)."""
    from tests.support import factories

    sold = _put_event(event_id=WAITLIST_EVENT, capacity=1, ticket_type_ids=[WAITLIST_TYPE])
    return factories.put_ticket(sold, holder=ALICE)


def with_sold_out_type(world: World, event: dict[str, Any]) -> dict[str, Any]:
    _sold_out_type()
    return event


def _seat_set_aside() -> None:
    """Bob waits in line and Alice cancels: her seat is set aside for the line (the handlers
    run in this process, as tests/integration/test_waitlist.py runs them)."""
    from tests.support.ticketing import post

    alices = _sold_out_type()
    joined = post(
        "/join-waitlist", {"event_id": WAITLIST_EVENT, "ticket_type_id": WAITLIST_TYPE}, user=BOB
    )
    cancelled = post("/cancel-ticket", {"ticket_id": alices["ticket_id"]}, user=ALICE)
    if (joined.status, cancelled.status) != (201, 200):
        raise RuntimeError(f"waiting-list state not made: {joined!r} {cancelled!r}")


def with_seat_set_aside(world: World, event: dict[str, Any]) -> dict[str, Any]:
    _seat_set_aside()
    return event


def with_seat_offered(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The offer the claim sample names, made by the waiting-list function from the stream
    sample."""
    from functions.waitlist import app as waitlist_app
    from gatepass import ids
    from tests.support.api import LambdaContext

    _seat_set_aside()
    make_id = ids.new_id
    ids.new_id = lambda: SAMPLE_OFFER
    try:
        answer = waitlist_app.lambda_handler(
            json.loads((EVENTS / "waitlist-seat-set-aside.json").read_text()), LambdaContext()
        )
    finally:
        ids.new_id = make_id
    if answer != {"batchItemFailures": []}:
        raise RuntimeError(f"offer not made: {answer!r}")
    return event


def with_queue_scheduled(world: World, event: dict[str, Any]) -> dict[str, Any]:
    """The event the sample names, behind a queue that opens in an hour (its public read)."""
    from datetime import timedelta

    from gatepass import clock
    from gatepass.dal.queue import DynamoQueueStore
    from gatepass.logic.queue import QUEUE_SHARDS, commitment
    from gatepass.models.queue import QueueRecord

    event_id = _sample_event_id(event)
    _put_event(event_id=event_id)
    seed = "00" * 32
    DynamoQueueStore(_settings().ticketing_table).create(
        QueueRecord(
            event_id=event_id,
            organizer="olivia@example.com",
            opens_at=clock.iso(clock.now() + timedelta(hours=1)),
            max_admissions_per_minute=600,
            enabled=True,
            seed=seed,
            seed_commitment=commitment(seed),
            shards=QUEUE_SHARDS,
            created_at=clock.iso(clock.now()),
        )
    )
    return event


@dataclass(frozen=True)
class Subject:
    function: str
    event_file: str
    prepare: Prepare
    # A module that is not one of the template's functions (the stack reference).
    module: str | None = None
    # False: the function's libraries and gatepass without compiled bytecode, as SAM's Python
    # builder shipped them before layers/Makefile and functions/Makefile (the SDK precompiled).
    bytecode: bool = True
    # A git revision: the function as it was then (its gatepass, handler and requirements),
    # measured in the same rounds as the current one (``python -m bench --before REV``).
    before: str | None = None

    @property
    def name(self) -> str:
        if self.before:
            return f"{self.function}, before ({self.before})"
        return self.function if self.bytecode else f"{self.function}, no bytecode"


FLOOR_MODULE = "bench.floor_handler"
# Instruction counts: each subject once more under callgrind, where valgrind is installed.
VALGRIND = shutil.which("valgrind")
EMPTY = "An empty handler (the count's zero)"
STACK = "PowertoolsStack (reference)"
STACK_CLIENT = "PowertoolsStack + one client (reference)"
# The conventions as they stand (no X-Ray SDK) + one client: bench.report.CONVENTIONS.
CONVENTIONS = "Conventions + one client (reference)"
# The ladder from the floor to the conventions' reference: each rung adds one part of the stack.
OBSERVABILITY = "Logger and Metrics + one client (reference)"
PYDANTIC = "Logger, Metrics, pydantic + one client (reference)"
# References that trace as the functions do, through Lambda's active tracing (no X-Ray SDK).
UNTRACED = frozenset(
    {
        "bench.conventions_handler",
        "bench.observability_handler",
        "bench.pydantic_handler",
        "bench.empty_handler",
    }
)
SUBJECTS = (
    Subject(STACK, "subscribe.json", as_is, module="bench.stack_handler"),
    Subject(STACK_CLIENT, "subscribe.json", as_is, module="bench.stack_client_handler"),
    Subject(CONVENTIONS, "subscribe.json", as_is, module="bench.conventions_handler"),
    Subject(OBSERVABILITY, "subscribe.json", as_is, module="bench.observability_handler"),
    Subject(PYDANTIC, "subscribe.json", as_is, module="bench.pydantic_handler"),
    Subject("AuthorizerFunction", "authorizer.json", with_fresh_token),
    Subject("SubscribeFunction", "subscribe.json", as_is),
    Subject("SendOtpFunction", "send-otp.json", with_active_subscriber),
    Subject("VerifyOtpFunction", "verify-otp.json", with_code_sent),
    Subject("CreateEventFunction", "create-event.json", as_is),
    Subject("ProcessImageFunction", "process-image.json", with_upload_waiting),
    Subject("EventsReadFunction", "events-read-list.json", with_upcoming_events),
    Subject("CreateTicketFunction", "create-ticket.json", with_event_on_sale),
    Subject("GetQrCodeFunction", "get-qr-code.json", with_ticket_to_show),
    Subject("CheckInFunction", "check-in.json", with_ticket_at_the_door),
    Subject("LogActivityFunction", "log-activity.json", as_is),
    Subject("ProjectorFunction", "projector-ticketing.json", as_is),
    # The default stack configures no identity provider: its first exchange answers 404.
    Subject("VerifyIdTokenFunction", "verify-id-token.json", as_is),
    Subject("SessionsFunction", "sessions-get.json", with_live_session),
    Subject("CognitoPostConfirmationFunction", "cognito-post-confirmation.json", as_is),
    Subject("AddTicketTypeFunction", "add-ticket-type.json", with_organizers_event),
    Subject("UpdateTicketTypeFunction", "update-ticket-type.json", with_ticket_type_to_update),
    Subject("CancelTicketFunction", "cancel-ticket.json", with_held_ticket),
    Subject("CancelEventFunction", "cancel-event.json", with_organizers_event),
    Subject("EventRevocationsFunction", "event-revocations.json", with_organizers_event),
    Subject("TransferTicketFunction", "transfer-ticket.json", with_held_ticket),
    Subject("RotateEventKeyFunction", "rotate-event-key.json", with_organizers_event),
    Subject("ReissueTicketFunction", "reissue-ticket.json", with_held_ticket),
    Subject("WaitlistPlacesFunction", "waitlist-places-join.json", with_sold_out_type),
    Subject("OffersFunction", "offers-claim.json", with_seat_offered),
    Subject("QueueFunction", "queue-public.json", with_queue_scheduled),
    Subject("AppleWalletPassFunction", "apple-wallet-pass.json", with_held_ticket),
    Subject("GoogleWalletLinkFunction", "google-wallet-link.json", with_held_ticket),
    Subject("DoorFunction", "door-event-door.json", with_organizers_event),
    Subject("ScannerBundleFunction", "scanner-bundle.json", with_organizers_event),
    Subject("DeliverTicketsFunction", "deliver-tickets.json", with_ticket_to_mail),
    Subject("WaitlistFunction", "waitlist-seat-set-aside.json", with_seat_set_aside),
    Subject("SubscribeFunction", "subscribe.json", as_is, bytecode=False),
    Subject("ProjectorFunction", "projector-ticketing.json", as_is, bytecode=False),
)


def named(functions: list[str]) -> tuple[Subject, ...]:
    """The subjects of these functions (logical ids) as built, in the suite's order."""
    chosen = tuple(
        s for s in SUBJECTS if s.module is None and s.bytecode and s.function in functions
    )
    unknown = set(functions) - {s.function for s in chosen}
    if unknown:
        raise ValueError(f"no cold start measures {', '.join(sorted(unknown))}")
    return chosen


def with_before(revision: str, subjects: tuple[Subject, ...] = SUBJECTS) -> tuple[Subject, ...]:
    """Each function (as built) followed by itself at ``revision``."""
    paired: list[Subject] = []
    for subject in subjects:
        paired.append(subject)
        if subject.module is None and subject.bytecode:
            paired.append(
                Subject(subject.function, subject.event_file, subject.prepare, before=revision)
            )
    return tuple(paired)


def revision_tree(revision: str, dest: Path) -> Path:
    """``layers/`` and ``functions/`` as they were at ``revision``, compiled as built."""
    if dest.exists():
        return dest
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "layers", "functions"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    slim_data(dest / "layers")
    layer_code(dest / "layers")
    for package in ("layers", "functions"):
        compileall.compile_dir(str(dest / package), quiet=1)
    return dest


def slim_data(layers: Path) -> None:
    """The slim botocore data layers/Makefile adds to the layer, from the SDK installed here (the
    version the layer pins), if ``layers`` is of a revision that has it."""
    builder = layers / "gatepass" / "slim_models.py"
    if builder.exists():
        subprocess.run(
            [sys.executable, "-m", "gatepass.slim_models", BOTOCORE_DATA, "gatepass/botocore_data"],
            cwd=layers,
            env={**os.environ, "PYTHONPATH": str(layers)},
            capture_output=True,
            check=True,
        )


# Imports gatepass's modules refusing every library neither the layer nor a function ships, as
# layers/Makefile imports them with those libraries alone, and writes their compiled dataclass
# methods and regular expressions (gatepass.layer_code).
_RECORD = """import sys
refused = frozenset(sys.argv[2].split(","))
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in refused:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
try:
    from gatepass.layer_code import main
except ModuleNotFoundError:  # a revision before regex_code: dataclasses' methods alone
    from gatepass.dataclass_code import main
    sys.argv[1] += "/dataclass_code.marshal"
sys.exit(main([sys.argv[1], "gatepass"]))
"""


def layer_code(layers: Path) -> None:
    """The compiled dataclass methods and regular expressions layers/Makefile adds to the layer,
    recorded with the libraries installed here less those neither the layer nor a function
    ships, if ``layers`` is of a revision that has them."""
    if not (layers / "gatepass" / "dataclass_code.py").exists():
        return
    # The layer's requirements and the functions' libraries (layers/function-libraries.txt):
    # that revision's, or the checkout's beside a built copy.
    layer = layers if (layers / "requirements.txt").exists() else ROOT / "layers"
    wanted = requirements_of(layer / "requirements.txt")
    if (layer / "function-libraries.txt").exists():
        wanted += requirements_of(layer / "function-libraries.txt")
    refused = not_deployed(None, tuple(wanted))
    subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            _RECORD,
            str(layers / "gatepass"),
            ",".join(refused),
        ],
        env={**os.environ, "PYTHONPATH": str(layers), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        check=True,
    )


def built_layer(dest: Path) -> Path:
    """The SharedLayer's gatepass as layers/Makefile builds it: the package, with its slim
    botocore data and compiled dataclass methods, compiled. First on a function's path, before
    the checkout's ``layers``."""
    if dest.exists():
        return dest
    ignored = shutil.ignore_patterns(
        "__pycache__", "*.pyc", "botocore_data", "dataclass_code.marshal", "regex_code.marshal"
    )
    shutil.copytree(ROOT / "layers" / "gatepass", dest / "gatepass", ignore=ignored)
    slim_data(dest)
    layer_code(dest)
    compileall.compile_dir(str(dest), quiet=1)
    return dest


def source_only_site(function_dir: Path, dest: Path) -> Path:
    """Copies, without bytecode, of what the layer and the function ship beyond the SDK."""
    from importlib import metadata

    from bench.deployment import RUNTIME, closure, normal, requirements_of

    if dest.exists():
        return dest
    wanted = closure(
        requirements_of(ROOT / "layers" / "requirements.txt")
        + requirements_of(function_dir / "requirements.txt")
    ) - closure(list(RUNTIME))
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    dest.mkdir(parents=True)
    for module, distributions in metadata.packages_distributions().items():
        if not any(normal(d) in wanted for d in distributions):
            continue
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        if spec.submodule_search_locations:
            package = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(package, dest / package.name, ignore=no_bytecode)
        else:
            shutil.copy2(spec.origin, dest)
    shutil.copytree(ROOT / "layers" / "gatepass", dest / "gatepass", ignore=no_bytecode)
    return dest


# ---------------------------------------------------------------- running


def instructions(stderr: str) -> int:
    """The instructions callgrind counted in the whole child, from its summary line."""
    for line in stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise RuntimeError(f"no instruction count in callgrind's output:\n{stderr[-2000:]}")


def _child(
    world: World, subject: Subject | None, workdir: Path, *, counted: bool = False
) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "PYTEST"))}
    env.update(aws_env(world.model.region))
    env.update(LAMBDA_ENV)
    env.update({"AWS_ENDPOINT_URL": world.url, "PYTHONPATH": PYTHONPATH})
    world.reset()
    extra: tuple[str, ...] = ()
    if subject is None:
        # The floor: the runtime alone (no layer), one client and one call.
        mode, module, function_dir = "handler", FLOOR_MODULE, None
        env.update(world.model.function_env("SubscribeFunction"))
        event: dict[str, Any] = {}
    elif subject.module is not None:
        mode, module, function_dir = "handler", subject.module, ROOT / "functions" / "subscribe"
        # The previous stack's references trace with Powertools' Tracer on the X-Ray SDK; the
        # conventions' reference and its ladder, like the functions, ship no tracing library.
        extra = () if subject.module in UNTRACED else ("aws-xray-sdk",)
        env.update(world.model.function_env("SubscribeFunction"))
        event = subject.prepare(world, json.loads((EVENTS / subject.event_file).read_text()))
    else:
        from devstack.functions import FunctionHost

        mode = "handler"
        module = FunctionHost(world.model).module_name(subject.function)[0]
        function_dir = world.model.function_dir(subject.function)
        env.update(world.model.function_env(subject.function))
        if subject.before:
            tree = revision_tree(subject.before, workdir / f"before-{subject.before}")
            function_dir = tree / function_dir.relative_to(ROOT)
            env["PYTHONPATH"] = os.pathsep.join((str(tree), str(tree / "layers"), PYTHONPATH))
        elif subject.bytecode:
            layer = built_layer(workdir / "layer")
            env["PYTHONPATH"] = os.pathsep.join((str(layer), PYTHONPATH))
        if not subject.bytecode:
            site = source_only_site(function_dir, workdir / f"source-only-{subject.function}")
            env["PYTHONPATH"] = os.pathsep.join((str(site), PYTHONPATH))
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        if subject.function in DATABASE_FUNCTIONS:
            env.update(
                {"DATABASE_URL": world.database_url or "", "REDIS_URL": world.redis_url or ""}
            )
        sample = json.loads((EVENTS / subject.event_file).read_text())
        event = subject.prepare(world, sample)
    env["BENCH_NOT_DEPLOYED"] = ",".join(not_deployed(function_dir, extra))
    if subject is not None and subject.before and function_dir is not None:
        env["BENCH_NOT_DEPLOYED"] = ",".join(
            not_deployed(function_dir, extra, layer=function_dir.parent.parent / "layers")
        )
    event_path = workdir / "event.json"
    event_path.write_text(json.dumps(event))
    world.timer.take()
    # Counted: the same child under callgrind, which counts the instructions it runs (the same
    # from run to run, whatever else the machine does; not the time they take).
    counter: list[str] = []
    if counted:
        if VALGRIND is None:
            raise RuntimeError("counting instructions needs valgrind (apt-get install valgrind)")
        counter = [VALGRIND, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    done = subprocess.run(
        [*counter, sys.executable, str(CHILD), mode, module, str(event_path)],
        env=env,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=600 if counted else 120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold start of {module} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if counted:
        result["instructions"] = instructions(done.stderr)
    result["aws_seconds"], result["aws_requests"] = world.timer.take()
    result["own_seconds"] = result["seconds"] - result["aws_seconds"]
    return result


def count(world: World, subjects: tuple[Subject, ...], workdir: Path) -> dict[str, Any]:
    """Each subject's cold start once under callgrind: instructions, own over the floor's own
    (each less the empty handler's count: the interpreter's start and the child's own work)."""
    empty = Subject(EMPTY, "subscribe.json", as_is, module="bench.empty_handler")
    zero = _child(world, empty, workdir, counted=True)["instructions"]
    floor = _child(world, None, workdir, counted=True)["instructions"]
    counted: dict[str, Any] = {"empty": zero, "floor": floor, "functions": {}}
    for subject in subjects:
        total = _child(world, subject, workdir, counted=True)["instructions"]
        counted["functions"][subject.name] = {
            "instructions": total,
            "own_ratio": (total - zero) / (floor - zero),
        }
    return counted


def compile_own() -> None:
    """Bytecode for our own modules, as the Makefiles build it (the libraries' came with pip):
    a checkout edited since its last import would otherwise compile them in every child."""
    for package in ("layers", "functions", "bench"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def count_only(world: World, subjects: tuple[Subject, ...]) -> dict[str, Any]:
    """``count`` alone, for trying a change: no timed rounds, nothing written."""
    compile_own()
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        return count(world, subjects, Path(tmp))


def run(
    world: World,
    repeats: int,
    subjects: tuple[Subject, ...] = SUBJECTS,
    *,
    counted: bool | None = None,
) -> dict[str, Any]:
    """Rounds of (floor, every function), interleaved so drift touches them alike; then, where
    valgrind is installed (or as ``counted`` says), each one's instructions once."""
    counted = VALGRIND is not None if counted is None else counted
    floor: list[float] = []
    floor_own: list[float] = []
    floor_aws: list[float] = []
    floor_requests = 0
    times: dict[str, list[float]] = {s.name: [] for s in subjects}
    own: dict[str, list[float]] = {s.name: [] for s in subjects}
    imports: dict[str, list[float]] = {s.name: [] for s in subjects}
    aws: dict[str, list[float]] = {s.name: [] for s in subjects}
    cpu: dict[str, list[float]] = {s.name: [] for s in subjects}
    floor_cpu: list[float] = []
    instruction_counts: dict[str, Any] | None = None
    details: dict[str, dict[str, Any]] = {}
    compile_own()
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        workdir = Path(tmp)
        # One untimed round: bytecode caches and the OS page cache warm for everyone.
        _child(world, None, workdir)
        for subject in subjects:
            _child(world, subject, workdir)
        for _ in range(repeats):
            measured_floor = _child(world, None, workdir)
            floor.append(measured_floor["seconds"])
            floor_own.append(measured_floor["own_seconds"])
            floor_aws.append(measured_floor["aws_seconds"])
            floor_requests = measured_floor["aws_requests"]
            floor_cpu.append(measured_floor["cpu_seconds"])
            for subject in subjects:
                measured = _child(world, subject, workdir)
                times[subject.name].append(measured["seconds"])
                own[subject.name].append(measured["own_seconds"])
                imports[subject.name].append(measured["import_seconds"])
                aws[subject.name].append(measured["aws_seconds"])
                cpu[subject.name].append(measured["cpu_seconds"])
                details[subject.name] = measured
        if counted:
            instruction_counts = count(world, subjects, workdir)
    floor_summary = summary(floor)
    floor_own_summary = summary(floor_own)
    functions = {}
    for subject in subjects:
        measured = summary(times[subject.name])
        functions[subject.name] = {
            "event": subject.event_file,
            "answer": details[subject.name]["outcome"],
            "heavy_imports": details[subject.name]["heavy"],
            "touches_images": subject.function in IMAGE_FUNCTIONS,
            "reference": subject.module is not None,
            "bytecode": subject.bytecode,
            "before": subject.before,
            "seconds": measured,
            "import_seconds": summary(imports[subject.name]),
            "aws_seconds": summary(aws[subject.name]),
            "aws_requests": details[subject.name]["aws_requests"],
            "own_seconds": summary(own[subject.name]),
            # The child's CPU time in the timed interval (moto answers in another process).
            "cpu_seconds": summary(cpu[subject.name]),
            "ratio": measured["median"] / floor_summary["median"],
            # The goal: the function's own time against the floor's own time.
            "own_ratio": summary(own[subject.name])["median"] / floor_own_summary["median"],
            "paired_own_ratio": paired_ratios(own[subject.name], floor_own),
        }
    stack = functions.get(CONVENTIONS)
    if stack is not None:
        # The lowest the conventions reach when a function touches AWS: each function against it.
        for name, entry in functions.items():
            entry["own_stack_ratio"] = (
                entry["own_seconds"]["median"] / stack["own_seconds"]["median"]
            )
            entry["paired_own_stack_ratio"] = paired_ratios(own[name], own[CONVENTIONS])
    if instruction_counts is not None:
        for name, entry in functions.items():
            entry["instructions"] = instruction_counts["functions"][name]["instructions"]
            entry["instructions_ratio"] = instruction_counts["functions"][name]["own_ratio"]
    return {
        "instructions": (
            {"empty": instruction_counts["empty"], "floor": instruction_counts["floor"]}
            if instruction_counts is not None
            else None
        ),
        "floor": {
            "handler": FLOOR_MODULE,
            "seconds": floor_summary,
            "own_seconds": floor_own_summary,
            "cpu_seconds": summary(floor_cpu),
            "aws_seconds": summary(floor_aws),
            "aws_requests": floor_requests,
        },
        "functions": functions,
        "repeats": repeats,
    }
