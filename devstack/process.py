"""``python -m devstack`` as a child process, for tests that drive the whole local stack."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from devstack.supervisor import READY_LINE
from devstack.template import ROOT


class DevStackProcess:
    """Starts ``python -m devstack *args`` and collects its output line by line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        # A clean environment: no AWS endpoint or credentials, no external databases.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        for name in ("DATABASE_URL", "REDIS_URL"):
            environment.pop(name, None)
        environment.update(env or {})
        environment["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY_LINE in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, limit: float = 180) -> None:
        deadline = time.monotonic() + limit
        while not self.ready.wait(0.5):
            if self.process.poll() is not None:
                raise RuntimeError(f"devstack exited early:\n{self.output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"devstack never became ready:\n{self.output}")

    def address(self, name: str) -> str:
        """The address printed on the banner line that starts with ``name``."""
        for line in self.lines:
            if line.strip().startswith(name):
                return line.split()[-1]
        raise LookupError(f"no {name} line in:\n{self.output}")

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, then wait; kills it only if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT, what Ctrl-C sends
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.reader.join(5)
        return int(self.process.returncode)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
