"""SnapStart's runtime hooks (gatepass.snapstart): what a restored snapshot reseeds and forgets.

The runtime's ``snapshot_restore_py`` exists only in Lambda; here it is absent, or a module of
that name holding the one function Gatepass calls, which records the hook so the test can run
it as the runtime would after a restore."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Callable

import pytest

from gatepass import clients, keys, snapstart
from tests.conftest import aws_client
from tests.support import factories

pytestmark = pytest.mark.unit


def test_without_the_runtime_module_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import raises ImportError
    assert snapstart.register() is False
    # The hook still runs when called directly (make dev, tests).
    assert snapstart.after_restore()[0] == "random"


def test_with_the_runtime_module_the_hook_runs_after_a_restore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[Callable[[], None]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register() is True
    assert len(registered) == 1
    random.seed(1234)
    expected = random.random()
    random.seed(1234)  # the state every environment restored from one snapshot would share
    registered[0]()
    assert random.random() != expected


def test_restored_environments_draw_different_random_numbers() -> None:
    draws = set()
    for _ in range(5):
        random.seed(1234)
        snapstart.after_restore()
        draws.add(random.random())
    assert len(draws) == 5


def test_a_restore_drops_cached_clients(aws: object) -> None:
    before = clients.client("dynamodb")
    table = clients.dynamodb_table(factories.settings().identity_table)
    assert "gatepass.clients" in snapstart.after_restore()
    assert clients.client("dynamodb") is not before
    assert clients.dynamodb_table(factories.settings().identity_table) is not table


def test_a_restore_rereads_a_rotated_secret(aws: object) -> None:
    secret_id = factories.settings().ticket_key_secret_arn
    secrets = aws_client("secretsmanager")
    secrets.put_secret_value(SecretId=secret_id, SecretString="a" * 40)
    first = keys.secret_key(secret_id)
    secrets.put_secret_value(SecretId=secret_id, SecretString="b" * 40)
    assert keys.secret_key(secret_id) == first  # cached for CACHE_SECONDS
    assert "gatepass.keys" in snapstart.after_restore()
    assert keys.secret_key(secret_id) != first


def test_a_restore_forgets_the_session_verifying_key(aws: object) -> None:
    import os

    from gatepass import tokens

    key_id = os.environ["SESSION_SIGNING_KEY_ID"]
    first = tokens.kms_verifying_key(key_id)
    assert tokens.kms_verifying_key(key_id) is first
    assert "gatepass.tokens" in snapstart.after_restore()
    assert tokens.kms_verifying_key(key_id) is not first
