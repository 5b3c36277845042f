"""Turn one samconfig.toml profile into the non-interactive profile the pipeline deploys with.

    python3 pipeline/samconfig_ci.py samconfig.toml prod --s3-bucket B --role-arn R \
        --override WebContainerImageUri=REPO:TAG > samconfig-ci.toml

The result keeps the profile's stack name, capabilities and parameter overrides (``--override``
adds to them or replaces one by name: on the command line ``sam deploy --parameter-overrides``
would replace them all), and swaps what only suits a person at a terminal: no change-set prompt,
the pipeline's artifact bucket instead of ``resolve_s3`` (SAM refuses both), CloudFormation's
deployment role. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any


def _overrides(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in shlex.split(text):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"not Name=Value: {item!r}")
        pairs[name] = value
    return pairs


def ci_profile(
    config: dict[str, Any],
    env: str,
    *,
    s3_bucket: str,
    s3_prefix: str,
    role_arn: str,
    overrides: list[str],
) -> dict[str, Any]:
    """The deploy parameters for ``env``, ready for an unattended ``sam deploy``."""
    if env not in config:
        raise KeyError(f"samconfig.toml has no profile {env!r}")
    profile = config[env]
    deploy: dict[str, Any] = {
        **profile.get("global", {}).get("parameters", {}),
        **profile.get("deploy", {}).get("parameters", {}),
    }
    if "stack_name" not in deploy:
        raise KeyError(f"profile {env!r} names no stack")
    parameters = _overrides(str(deploy.get("parameter_overrides", "")))
    for item in overrides:
        parameters.update(_overrides(item))
    for interactive in ("resolve_s3", "confirm_changeset", "guided"):
        deploy.pop(interactive, None)
    deploy.update(
        confirm_changeset=False,
        fail_on_empty_changeset=False,
        s3_bucket=s3_bucket,
        s3_prefix=s3_prefix,
        role_arn=role_arn,
        parameter_overrides=" ".join(
            shlex.quote(f"{name}={value}") for name, value in parameters.items()
        ),
    )
    return deploy


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def render(env: str, deploy: dict[str, Any]) -> str:
    lines = ["version = 0.1", "", f"[{env}.deploy.parameters]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in deploy.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("env")
    parser.add_argument("--s3-bucket", required=True)
    parser.add_argument("--s3-prefix", default="deploy")
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--override", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    config = tomllib.loads(args.config.read_text())
    deploy = ci_profile(
        config,
        args.env,
        s3_bucket=args.s3_bucket,
        s3_prefix=args.s3_prefix,
        role_arn=args.role_arn,
        overrides=args.override,
    )
    sys.stdout.write(render(args.env, deploy))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
