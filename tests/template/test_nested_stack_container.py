"""The web service's image as the nested stack runs it: the Dockerfile read statically (there is
no Docker engine here), its ignore file, and the gunicorn configuration the image starts with."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT

pytestmark = pytest.mark.template

CONTAINER = ROOT / "container"
NESTED = yaml_parse((CONTAINER / "template.yaml").read_text())


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def _stages() -> list[Stage]:
    text = (CONTAINER / "Dockerfile").read_text()
    logical_lines = re.sub(r"\\\n", " ", text).splitlines()
    stages: list[Stage] = []
    for line in logical_lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


def _default_build_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)", (CONTAINER / "Dockerfile").read_text(), re.M)
    assert match, name
    return match.group(1)


def test_image_is_built_in_stages_from_a_slim_python_311() -> None:
    stages = _stages()
    assert len(stages) >= 2
    assert stages[0].name == "builder"
    base = _default_build_arg("PYTHON_IMAGE")
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), base
    assert {s.base for s in stages} == {"${PYTHON_IMAGE}"}
    # The runtime stage takes only wheels from the builder, never its toolchain.
    runtime = stages[-1]
    assert not [c for c in runtime.all("COPY") if "--from=builder" in c]
    assert any("from=builder" in r and "--no-index" in r for r in runtime.all("RUN"))


def test_runtime_runs_as_an_unprivileged_user() -> None:
    runtime = _stages()[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage never drops root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric uid lets the orchestrator verify non-root"
    assert int(uid) >= 1000
    # Code is copied before the switch and stays owned by root: the service cannot rewrite it.
    order = [key for key, _ in runtime.instructions]
    assert max(i for i, key in enumerate(order) if key == "COPY") < order.index("USER")


def test_the_shared_package_and_the_web_code_are_installed() -> None:
    builder, runtime = _stages()[0], _stages()[-1]
    assert any("./layers" in r for r in builder.all("RUN"))
    copied = " ".join(runtime.all("COPY"))
    for path in (
        "container/webapp/",
        "container/migrations/",
        "container/alembic.ini",
        "container/gunicorn.conf.py",
        "container/entrypoint.sh",
    ):
        assert path in copied, path


def test_entrypoint_is_exec_form_and_gunicorn_replaces_the_shell() -> None:
    runtime = _stages()[-1]
    assert json.loads(runtime.all("ENTRYPOINT")[-1]) == ["/app/entrypoint.sh"]
    assert "--chmod=0755 container/entrypoint.sh" in " ".join(runtime.all("COPY"))
    script = (CONTAINER / "entrypoint.sh").read_text()
    assert re.search(r'^exec gunicorn -c gunicorn\.conf\.py "\$\{GUNICORN_APP', script, re.M)
    assert os.access(CONTAINER / "entrypoint.sh", os.X_OK)


def test_health_check_asks_the_same_endpoint_as_the_load_balancer() -> None:
    runtime = _stages()[-1]
    (check,) = runtime.all("HEALTHCHECK")
    command = json.loads(check.split("CMD", 1)[1])
    target_group = NESTED["Resources"]["WebTargetGroup"]["Properties"]
    assert target_group["HealthCheckPath"] in command[-1]
    assert command[:2] == ["python", "-c"]


def test_image_listens_where_the_task_definition_sends_traffic() -> None:
    runtime = _stages()[-1]
    port = NESTED["Parameters"]["ContainerPort"]["Default"]
    assert runtime.all("EXPOSE") == [str(port)]
    assert f"PORT={port}" in " ".join(runtime.all("ENV"))


def _ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; ``!`` re-includes."""
    ignored = False
    for line in (CONTAINER / "Dockerfile.dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or fnmatch.fnmatch(path, pattern):
            ignored = not negate
    return ignored


def test_build_context_sends_only_what_the_image_copies() -> None:
    for needed in (
        "container/requirements.txt",
        "container/webapp/__init__.py",
        "container/migrations/env.py",
        "container/alembic.ini",
        "container/gunicorn.conf.py",
        "container/entrypoint.sh",
        "layers/pyproject.toml",
        "layers/gatepass/config.py",
    ):
        assert not _ignored(needed), needed
    for unwanted in (
        ".venv/bin/python",
        ".git/HEAD",
        ".aws-sam/build/template.yaml",
        "tests/conftest.py",
        "container/template.yaml",
        "layers/gatepass/__pycache__/config.cpython-311.pyc",
    ):
        assert _ignored(unwanted), unwanted


def test_gunicorn_configuration_follows_the_environment() -> None:
    env = {
        **os.environ,
        "PORT": "9123",
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "3",
        "GUNICORN_THREADS": "2",
    }
    result = subprocess.run(
        [
            str(os.path.join(os.path.dirname(sys.executable), "gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "--print-config",
            # Only the configuration is under test; the stdlib's demo app stands in for the site.
            "wsgiref.simple_server:demo_app",
        ],
        capture_output=True,
        text=True,
        cwd=CONTAINER,
        env=env,
        check=True,
    )
    settings = {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
        if value
    }
    assert settings["bind"] == "['127.0.0.1:9123']"
    assert settings["workers"] == "3"
    assert settings["threads"] == "2"
    assert settings["worker_class"] == "gthread"
    assert settings["accesslog"] == "-"
    assert settings["control_socket_disable"] == "True"
    # Longer than the ALB's idle timeout, so the ALB (not gunicorn) closes idle connections.
    idle = {
        a["Key"]: a["Value"]
        for a in NESTED["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
        if "Key" in a
    }["idle_timeout.timeout_seconds"]
    assert int(settings["keepalive"]) > int(idle)
