"""The collector pauses for a Lambda environment's init and resumes, frozen, after the first
invocation (``gatepass.coldstart``); nowhere else does anything change."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatepass import coldstart
from gatepass.observability import Tracer

pytestmark = pytest.mark.unit

LAYERS = Path(__file__).resolve().parents[2] / "layers"


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was, whatever the test did to it."""
    was_enabled = gc.isenabled()
    yield
    coldstart._paused = False
    gc.unfreeze()
    if was_enabled:
        gc.enable()


def test_outside_lambda_nothing_is_paused(collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no Lambda runtime (tests, make dev, the web service)
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    # When the package asks to pause, Then the collector keeps running
    assert coldstart.pause() is False
    assert gc.isenabled()
    assert coldstart.resume() is False


def test_in_lambda_the_first_invocation_resumes_a_frozen_collector(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Lambda environment whose init paused the collector
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    assert coldstart.pause() is True
    assert not gc.isenabled()
    assert coldstart.pause() is False
    calls: list[bool] = []

    @Tracer(environ={}).capture_lambda_handler
    def handler(event: Any, context: Any) -> dict[str, int]:
        calls.append(gc.isenabled())
        return {"statusCode": 200}

    # When the first event is handled, Then it ran paused, and the collector runs after it
    assert handler({}, None) == {"statusCode": 200}
    assert calls == [False]
    assert gc.isenabled()
    # with what the init and the first event built frozen, out of later passes' way
    assert gc.get_freeze_count() > 0
    # And the next event changes nothing
    handler({}, None)
    assert calls == [False, True]
    assert coldstart.resume() is False


def test_a_first_invocation_that_fails_still_resumes(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a paused collector
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    coldstart.pause()

    @Tracer(environ={}).capture_lambda_handler
    def handler(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    # When the first event raises, Then the error goes on and the collector runs again
    with pytest.raises(RuntimeError, match="boom"):
        handler({}, None)
    assert gc.isenabled()


def _fresh(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**{k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}, **env},
        cwd=str(LAYERS),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_importing_gatepass_pauses_only_in_a_lambda_environment() -> None:
    code = "import gc, gatepass; print(gc.isenabled())"
    # Given a fresh interpreter, When gatepass is first imported, Then only Lambda pauses
    assert _fresh({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, code) == "False"
    assert _fresh({}, code) == "True"
