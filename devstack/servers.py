"""Small helpers: WSGI servers on threads, and ports."""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class PortInUse(RuntimeError):
    def __init__(self, port: int, what: str) -> None:
        super().__init__(f"port {port} ({what}) is already in use")
        self.port = port
        self.what = what


class QuietHandler(WSGIRequestHandler):
    """Request lines are logged by the apps themselves, more usefully."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ServerThread:
    """A threaded werkzeug server for ``app`` on ``host:port``, stopped with ``stop()``."""

    def __init__(self, app: Any, host: str, port: int, what: str) -> None:
        self.what = what
        try:
            self.server: BaseWSGIServer = make_server(
                host, port, app, threaded=True, request_handler=QuietHandler
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port, what) from None
            raise
        self.port = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"devstack-{what}", daemon=True
        )

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def ensure_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a port held only by TIME_WAIT connections is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(port, what) from None
            raise


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
