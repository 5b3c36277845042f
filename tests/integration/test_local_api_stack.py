"""``python -m devstack`` (``make dev``) as a user runs it: it starts, says where everything is,
and Ctrl-C leaves nothing behind; a taken port is one clear line."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import psutil
import pytest

from devstack.process import DevStackProcess
from devstack.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DevStack = DevStackProcess


@pytest.fixture
def ports() -> dict[str, int]:
    return {"moto": free_port(), "api": free_port(), "web": free_port()}


@pytest.fixture
def stack_env(ports: dict[str, int]) -> dict[str, str]:
    return {
        "GATEPASS_MOTO_PORT": str(ports["moto"]),
        "GATEPASS_API_PORT": str(ports["api"]),
        "GATEPASS_WEB_PORT": str(ports["web"]),
    }


@pytest.fixture
def running(stack_env: dict[str, str]) -> Iterator[DevStack]:
    stack = DevStack("--no-seed", env=stack_env)
    try:
        yield stack
    finally:
        stack.stop()  # Ctrl-C; killed only if it will not stop


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _servers_of(stack: DevStack) -> list[psutil.Process]:
    """The embedded PostgreSQL and Redis it started (they daemonise out of its process tree)."""
    postgres_url = stack.address("PostgreSQL")
    redis_port = int(stack.address("Redis").rsplit(":", 1)[1].split("/")[0])
    socket_dir = postgres_url.split("host=", 1)[1]
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if (socket_dir in cmdline and "postgres" in cmdline) or (
            "redis-server" in cmdline and f":{redis_port}" in cmdline
        ):
            found.append(process)
    return found


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_devstack_prints_its_addresses_and_ctrl_c_stops_everything(
    running: DevStack, ports: dict[str, int]
) -> None:
    # Given make dev's stack, up on free ports
    running.wait_ready()
    assert running.address("AWS stand-in") == f"http://127.0.0.1:{ports['moto']}"
    assert running.address("API") == f"http://127.0.0.1:{ports['api']}"
    assert running.address("Mailbox") == f"http://127.0.0.1:{ports['api']}/_mailbox"
    assert running.address("Clock") == f"http://127.0.0.1:{ports['api']}/_clock"
    servers = _servers_of(running)
    assert len(servers) >= 2, running.output  # PostgreSQL's postmaster and Redis
    listening = [ports["moto"], ports["api"]]
    if "Web app" in running.output:
        listening.append(ports["web"])
    assert all(_listening(port) for port in listening)
    children = psutil.Process(running.process.pid).children(recursive=True)

    # When the user presses Ctrl-C
    code = running.stop()

    # Then it exits cleanly, every port is free again and no process it started is left
    assert code == 0, running.output
    assert "Stopped" in running.output
    assert not any(_listening(port) for port in listening)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(p) for p in servers + children):
        time.sleep(0.2)
    assert [p.pid for p in servers + children if not _gone(p)] == []


def test_a_port_already_taken_is_one_clear_line_and_exit_code_1(
    stack_env: dict[str, str], ports: dict[str, int]
) -> None:
    # Given something already listening on the API's port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()

        # When make dev starts
        stack = DevStack(env=stack_env)
        code = stack.process.wait(120)
        stack.reader.join(5)

    # Then it says which port in one line, without a traceback, and exits 1
    assert code == 1
    assert "Traceback" not in stack.output
    problem = [line for line in stack.lines if "already in use" in line]
    assert len(problem) == 1
    assert str(ports["api"]) in problem[0]


def test_databases_left_by_a_killed_run_are_stopped_by_the_next_run(
    stack_env: dict[str, str],
) -> None:
    # Given a stack that was killed outright (no chance to stop its databases)
    first = DevStack("--no-seed", "--no-web", env=stack_env)
    try:
        first.wait_ready()
        orphans = _servers_of(first)
        assert len(orphans) >= 2, first.output
    finally:
        first.kill()

    # When make dev starts again
    second = DevStack("--no-seed", "--no-web", env=stack_env)
    try:
        second.wait_ready()

        # Then the databases the killed run left behind are gone
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(_gone(p) for p in orphans):
            time.sleep(0.2)
        assert [p.pid for p in orphans if not _gone(p)] == []
        assert "left behind by a killed earlier run" in second.output
    finally:
        assert second.stop() == 0
