"""A real OpenID Connect provider on 127.0.0.1: panva's ``oidc-provider`` (npm), installed by
``make`` from ``devstack/oidc/package-lock.json`` (``npm ci``) and run with ``node``.

``make dev --sign-in oidc`` and the tests start it with one client, the Gatepass web, which must
use the authorization code flow with PKCE. Its development login screen takes any login and
password; the login becomes the person's subject (and their address, when it is one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "gatepass-web"
# The local provider's client secret; a deployed stack keeps its own in Secrets Manager.
CLIENT_SECRET = "local-oidc-client-secret-not-a-real-one"  # noqa: S105


class ProviderUnavailable(RuntimeError):
    """Node or the provider's packages are missing (``make`` installs them with ``npm ci``)."""


def installed() -> bool:
    return (
        shutil.which("node") is not None
        and (DIRECTORY / "node_modules" / "oidc-provider" / "package.json").is_file()
    )


class LocalOidcProvider:
    def __init__(self, port: int, redirect_uri: str, host: str = "127.0.0.1") -> None:
        self.port = port
        self.issuer = f"http://{host}:{port}"
        self.redirect_uri = redirect_uri
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self._process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []

    def start(self, limit: float = 30) -> LocalOidcProvider:
        node = shutil.which("node")
        if node is None or not installed():
            raise ProviderUnavailable(
                "the local OIDC provider needs node and `npm ci --prefix devstack/oidc` "
                "(make installs both)"
            )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            "OIDC_REDIRECT_URI": self.redirect_uri,
            "NODE_ENV": "development",
        }
        self._process = subprocess.Popen(
            [node, str(DIRECTORY / "provider.mjs")],
            cwd=DIRECTORY,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ProviderUnavailable("oidc-provider exited:\n" + "\n".join(self.lines))
            try:
                with urllib.request.urlopen(  # noqa: S310 (our own loopback address)
                    f"{self.issuer}/.well-known/openid-configuration", timeout=2
                ) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.stop()
        raise ProviderUnavailable("oidc-provider did not answer in time")

    def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
