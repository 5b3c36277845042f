"""``python -m devstack``: start the whole local Gatepass in order, print where everything is,
and stop everything on Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from devstack import web
from devstack.aws import AwsService, MotoStandIn, handler_environment
from devstack.clock import MovableClock
from devstack.databases import Databases
from devstack.functions import FunctionHost
from devstack.localapi import LocalApi
from devstack.mailbox import Mailbox
from devstack.oidc import LocalOidcProvider
from devstack.pumps import (
    Pump,
    S3NotificationPump,
    StreamPump,
    stream_mappings,
    wire_s3_notifications,
)
from devstack.seed import Seeder
from devstack.servers import PortInUse, ServerThread, ensure_free
from devstack.template import TemplateModel
from gatepass.dal import layout
from gatepass.readmodel.database import normalize_url

log = logging.getLogger("devstack")
HOST = "127.0.0.1"
READY_LINE = "Press Ctrl-C to stop."


@dataclass
class Options:
    moto_port: int = 5000
    api_port: int = 3000
    web_port: int = 8080
    oidc_port: int = 9000
    sign_in: str = "email-code"
    confirm: str = "auto"
    seed: bool = True
    web: bool = True
    poll_interval: int = 2
    deadline: int = 900
    offer_lifetime: int = 120
    verbose: bool = False


def parse_args(argv: list[str] | None = None) -> Options:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Run Gatepass locally: AWS stand-in, API, mailbox, databases and web app.",
    )
    parser.add_argument("--moto-port", type=int, default=int(env.get("GATEPASS_MOTO_PORT", 5000)))
    parser.add_argument("--api-port", type=int, default=int(env.get("GATEPASS_API_PORT", 3000)))
    parser.add_argument("--web-port", type=int, default=int(env.get("GATEPASS_WEB_PORT", 8080)))
    parser.add_argument("--oidc-port", type=int, default=int(env.get("GATEPASS_OIDC_PORT", 9000)))
    parser.add_argument(
        "--sign-in",
        choices=("email-code", "oidc"),
        default=env.get("GATEPASS_SIGN_IN", "email-code"),
        help="email-code: Gatepass's emailed codes (the template's default); oidc: a real OpenID "
        "Connect provider (node oidc-provider) on --oidc-port, as SignInMethod=oidc deploys",
    )
    parser.add_argument(
        "--confirm-subscriptions",
        dest="confirm",
        choices=("auto", "manual"),
        default=env.get("GATEPASS_CONFIRM_SUBSCRIPTIONS", "auto"),
        help="auto: the stand-in confirms email subscriptions itself (moto's behaviour); "
        "manual: they wait for the link in the mailbox, as on AWS",
    )
    parser.add_argument(
        "--no-seed",
        dest="seed",
        action="store_false",
        default=env.get("GATEPASS_SEED", "1") != "0",
        help="start without the demo events",
    )
    parser.add_argument("--no-web", dest="web", action="store_false", help="no web app")
    parser.add_argument(
        "--poll-interval",
        type=int,
        default=int(env.get("GATEPASS_SUBSCRIPTION_POLL_SECONDS", 2)),
        help="seconds between the subscription workflow's confirmation checks",
    )
    parser.add_argument(
        "--offer-lifetime",
        type=int,
        default=int(env.get("GATEPASS_OFFER_LIFETIME_SECONDS", 120)),
        help="seconds a waiting-list offer can be claimed (WaitlistOfferLifetimeSeconds)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="function logs at INFO")
    args = parser.parse_args(argv)
    return Options(
        moto_port=args.moto_port,
        api_port=args.api_port,
        web_port=args.web_port,
        oidc_port=args.oidc_port,
        sign_in=args.sign_in,
        confirm=args.confirm,
        seed=args.seed,
        web=args.web,
        poll_interval=args.poll_interval,
        offer_lifetime=args.offer_lifetime,
        verbose=args.verbose,
    )


class Stack:
    def __init__(self, options: Options) -> None:
        self.options = options
        parameters = {
            "AllowedWebOrigin": f"http://{HOST}:{options.web_port}",
            "SubscriptionPollIntervalSeconds": str(options.poll_interval),
            "SubscriptionDeadlineSeconds": str(options.deadline),
            "WaitlistOfferLifetimeSeconds": str(options.offer_lifetime),
        }
        self.oidc: LocalOidcProvider | None = None
        if options.sign_in == "oidc":
            self.oidc = LocalOidcProvider(
                options.oidc_port, f"http://{HOST}:{options.web_port}/signin/oidc/callback", HOST
            )
            parameters.update(
                SignInMethod="oidc",
                OidcIssuerUrl=self.oidc.issuer,
                OidcClientId=self.oidc.client_id,
            )
        self.model = TemplateModel(parameters=parameters)
        self.aws_url = f"http://{HOST}:{options.moto_port}"
        self.api_url = f"http://{HOST}:{options.api_port}"
        self.web_url = f"http://{HOST}:{options.web_port}"
        self.mailbox = Mailbox(confirm=options.confirm, base_url=self.api_url)
        self.clock = MovableClock()
        self.moto = MotoStandIn(self.model, options.moto_port, HOST)
        self.databases = Databases(os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL"))
        self.host = FunctionHost(self.model)
        self.pumps: list[Pump] = []
        self.servers: list[ServerThread] = []
        self._stops: list[Callable[[], None]] = []

    def check_ports(self) -> None:
        ensure_free(HOST, self.options.moto_port, "AWS stand-in")
        ensure_free(HOST, self.options.api_port, "API")
        if self.oidc is not None:
            ensure_free(HOST, self.options.oidc_port, "OIDC provider")
        if self.options.web:
            ensure_free(HOST, self.options.web_port, "web app")

    def start(self) -> None:
        self.check_ports()
        self._environment()
        self.mailbox.install()
        self._stops.append(self.mailbox.uninstall)
        self.clock.install()
        self._stops.append(self.clock.uninstall)

        if self.oidc is not None:
            log.info("starting the OIDC provider (node oidc-provider) on %s", self.oidc.issuer)
            self.oidc.start()
            self._stops.append(self.oidc.stop)

        log.info("starting the AWS stand-in (moto) on %s", self.aws_url)
        self.moto.start()
        self._stops.append(self.moto.stop)
        self.moto.create_resources()
        clients = self.moto.clients()

        log.info("starting PostgreSQL and Redis")
        self.databases.start()
        self._stops.append(self.databases.stop)
        self._database_environment()
        if web.has_migrations():
            log.info("migrating the read model")
            web.migrate(normalize_url(str(self.databases.database_url)))

        api = LocalApi(
            self.model,
            self.host,
            extra_apps={self.mailbox.prefix: self.mailbox, self.clock.prefix: self.clock},
        )
        self._serve(api, self.options.api_port, "API")

        queues = wire_s3_notifications(self.model, clients)
        if queues:
            self.pumps.append(S3NotificationPump(self.model, self.host, clients, queues))
        for mapping in stream_mappings(self.model):
            if mapping.enabled and self.host.available(mapping.function):
                self.pumps.append(StreamPump(self.model, self.host, clients, mapping))
            elif mapping.enabled:
                log.warning("%s has no code yet; its stream is not delivered", mapping.function)
        for pump in self.pumps:
            pump.start()
        self._stops.append(self._stop_pumps)

        if self.options.web:
            self._start_web()
        if self.options.seed:
            self._seed(clients)

    def _environment(self) -> None:
        env = handler_environment(self.model, self.aws_url)
        if not self.options.verbose:
            env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        os.environ.update(env)

    def _database_environment(self) -> None:
        # The projector would reach RDS through DATABASE_HOST and its secret; locally it gets URLs.
        for name in ("DATABASE_HOST", "DATABASE_SECRET_ARN"):
            os.environ.pop(name, None)
        os.environ["DATABASE_URL"] = str(self.databases.database_url)
        os.environ["DATABASE_SSLMODE"] = "disable"
        os.environ["REDIS_URL"] = str(self.databases.redis_url)

    def _serve(self, app: Any, port: int, what: str) -> None:
        server = ServerThread(app, HOST, port, what).start()
        self.servers.append(server)
        self._stops.append(server.stop)

    def _start_web(self) -> None:
        if not web.available():
            log.warning("container/webapp is not there yet; the web app is not started")
            self.options.web = False
            return
        env = web.web_environment(
            self.model,
            api_url=self.api_url,
            aws_url=self.aws_url,
            database_url=str(self.databases.database_url),
            redis_url=str(self.databases.redis_url),
        )
        if self.oidc is not None:
            env.update(
                SIGN_IN_METHOD="oidc",
                OIDC_ISSUER=self.oidc.issuer,
                OIDC_CLIENT_ID=self.oidc.client_id,
                OIDC_CLIENT_SECRET=self.oidc.client_secret,
            )
        self._serve(web.create_app(env), self.options.web_port, "web app")

    def _seed(self, clients: Callable[[AwsService], Any]) -> None:
        table = clients("dynamodb")
        identity_table = self.model.physical_name("IdentityTable")

        def status(email: str) -> str | None:
            item = table.get_item(
                TableName=identity_table, Key=layout.low_level(layout.subscription_key(email))
            ).get("Item")
            return item["status"]["S"] if item and "status" in item else None

        log.info("creating the demo events through the API")
        try:
            web_url = self.web_url if self.options.web else None
            Seeder(self.api_url, self.mailbox, status, web_url=web_url).run()
        except Exception as exc:
            log.error("could not create the demo events: %s", exc)

    def _stop_pumps(self) -> None:
        for pump in self.pumps:
            pump.stop()
        for pump in self.pumps:
            pump.join(timeout=15)

    def stop(self) -> None:
        while self._stops:
            step = self._stops.pop()
            try:
                step()
            except Exception:
                log.exception("while stopping")

    def addresses(self) -> list[tuple[str, str]]:
        lines = [
            ("AWS stand-in (moto)", self.aws_url),
            ("API", self.api_url),
            ("Mailbox", f"{self.api_url}{self.mailbox.prefix}"),
            ("Clock (movable)", f"{self.api_url}{self.clock.prefix}"),
            (
                "PostgreSQL" + (" (embedded)" if self.databases.embedded_postgres else ""),
                str(self.databases.database_url),
            ),
            (
                "Redis" + (" (embedded)" if self.databases.embedded_redis else ""),
                str(self.databases.redis_url),
            ),
        ]
        if self.oidc is not None:
            lines.append(("OIDC provider", self.oidc.issuer))
        if self.options.web:
            lines.append(("Web app", self.web_url))
        return lines


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("werkzeug", "botocore", "urllib3", "alembic", "moto", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    options = parse_args(argv)
    stack = Stack(options)
    # Explicitly: a shell without job control starts background commands with SIGINT ignored.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    code = 0
    try:
        stack.start()
        width = max(len(name) for name, _ in stack.addresses())
        banner = ["", "Gatepass is running locally."]
        banner += [f"  {name.ljust(width)}  {address}" for name, address in stack.addresses()]
        print("\n".join([*banner, READY_LINE, ""]), flush=True)
        # Wake up now and then: a signal the kernel hands to another thread would not interrupt
        # a blocking wait here, and Python runs signal handlers only in this thread.
        while True:
            time.sleep(0.5)
    except PortInUse as busy:
        print(
            f"devstack: port {busy.port} ({busy.what}) is already in use; stop what is using it "
            f"or pick another port (python -m devstack --help).",
            file=sys.stderr,
            flush=True,
        )
        code = 1
    except KeyboardInterrupt:
        print("\nStopping Gatepass...", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        started = time.monotonic()
        stack.stop()
        if code == 0:
            print(f"Stopped ({time.monotonic() - started:.1f} s).", flush=True)
    return code
