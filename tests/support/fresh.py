"""Code run in a fresh interpreter with the layer's ``gatepass`` on its path, as a function's
cold start runs it: for tests of what an import loads, which this test process has long loaded.

The interpreter refuses pyOpenSSL, which the dev tools bring and no function ships: botocore
loads it when it is there, and with it cryptography's certificates and key formats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAYERS = Path(__file__).resolve().parents[2] / "layers"

_AS_DEPLOYED = """\
import sys
class _NotShipped:
    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] == 'OpenSSL':
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, _NotShipped())
"""


def run_fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter; its failure fails the test."""
    done = subprocess.run(
        [sys.executable, "-c", _AS_DEPLOYED + code],
        env={**os.environ, "PYTHONPATH": str(LAYERS)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
