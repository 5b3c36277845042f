"""Lambda SnapStart runtime hooks: what a restored snapshot must not share with its siblings.

With SnapStart (the ``EnableSnapStart`` parameter, python3.12 and later) Lambda runs a
function's init once when a version is published, snapshots the memory, and resumes every new
environment from that snapshot instead of running the init again. Whatever the init left in
memory is then the same in every environment: the state of ``random``, cached AWS clients with
their open connections, and secrets read at init with the time they were read. After each
restore this module:

- reseeds ``random`` from the operating system (``secrets`` and ``os.urandom``, which every
  token, code and id in Gatepass uses, read the kernel's pool and need nothing);
- drops the cached boto3 clients and resources (``gatepass.clients``): their pooled connections
  were opened before the snapshot, possibly long ago;
- forgets secrets read from Secrets Manager (``gatepass.keys``) and the session verifying key
  (``gatepass.tokens``): the snapshot may be older than the last rotation, and a cache stamped
  with ``time.monotonic()`` before the snapshot would look fresh after it; and the opened
  ticket-signing keys and cached verifying keys (``gatepass.ticket_keys``), for the same reason
  and so that no private key outlives its container's snapshot.

Modules not yet imported are left alone (importing them here would add to every cold start).
The hooks come from ``snapshot_restore_py``, which the Lambda runtime provides; without it (no
SnapStart, tests, ``make dev``) ``register`` registers nothing and ``after_restore`` can still
be called.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

# Each name: a gatepass module and what to call in it if it is loaded.
_FORGET: tuple[tuple[str, str], ...] = (
    ("gatepass.clients", "reset"),
    ("gatepass.keys", "reset"),
    ("gatepass.tokens", "reset"),
    ("gatepass.ticket_keys", "reset"),
    ("gatepass.dal.queue", "reset"),
    ("gatepass.logic.queue", "reset"),
)


def after_restore() -> list[str]:
    """Reseed and forget; answers what it reset (for the log line and the tests)."""
    random.seed()
    done = ["random"]
    for module_name, function in _FORGET:
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, function)()
            done.append(module_name)
    return done


def _after_restore_hook() -> None:
    done = after_restore()
    from gatepass.observability import logger

    logger.info("restored from a SnapStart snapshot", extra={"reset": done})


def register(runtime: Any = None) -> bool:
    """Register the hook with the runtime's ``snapshot_restore_py``; False when it is absent."""
    if runtime is None:
        try:
            import snapshot_restore_py as runtime  # type: ignore[import-not-found, no-redef]
        except ImportError:
            return False
    register_after_restore: Callable[[Callable[[], None]], Any] = runtime.register_after_restore
    register_after_restore(_after_restore_hook)
    return True
