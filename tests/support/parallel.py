"""What a test needs to run beside others: `make test` spreads the suite over pytest-xdist
workers (docs/decisions/0009-parallel-test-suite.md), each its own process with its own session
fixtures, servers and temporary folders. Anything a test writes outside ``tmp_path`` must carry
the worker's name, so two workers never write the same file."""

from __future__ import annotations

import os
from pathlib import Path


def worker() -> str:
    """This process's xdist worker ("gw0", "gw1", ...), or "main" when the run is not spread."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def per_worker(path: Path) -> Path:
    """``path`` for this worker: ``devstack.log`` becomes ``devstack.gw1.log`` under xdist and
    stays ``devstack.log`` in a serial run."""
    name = worker()
    if name == "main":
        return path
    return path.with_name(f"{path.stem}.{name}{path.suffix}")
