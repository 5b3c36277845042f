"""Run checkov offline on every CloudFormation template, and on the root after the SAM transform.

The SAM transform runs here (samtranslator, in the project's venv); checkov runs from its own
virtualenv (``.venv-checkov``, pinned by ``requirements-checkov.txt``) because its dependency pins
clash with the project's. Exit status 1 when any check fails: a finding is either fixed or
skipped in the template with its reason (``Metadata: checkov: skip: [{id, comment}]``).

    python tools/checkov_gate.py [--checkov .venv-checkov/bin/checkov] [--json counts.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
ROOT_TEMPLATE = ROOT / "template.yaml"
PLAIN_TEMPLATES = [
    ROOT / "container" / "template.yaml",
    ROOT / "edge" / "template.yaml",
    ROOT / "pipeline" / "template.yaml",
]


_LOCAL_ARTIFACTS = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
}


class _NoManagedPolicies:
    """The templates name managed policies by ARN, so the transform never looks one up."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transformed(template: Path = ROOT_TEMPLATE) -> dict[str, Any]:
    # The transform needs a region for its ARNs; nothing is called in it.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    document: dict[str, Any] = yaml_parse(template.read_text())
    # Local artifacts become S3 locations, as `sam validate` does before it translates.
    for resource in document.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in _LOCAL_ARTIFACTS.get(resource.get("Type"), ()):
            if isinstance(properties.get(key), str) and "://" not in properties[key]:
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}"
    transformed: dict[str, Any] = transform(
        document, {}, _NoManagedPolicies(), passthrough_metadata=True
    )
    return transformed


def _run(checkov: str, path: Path, label: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            checkov,
            "--file",
            str(path),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise SystemExit(f"checkov could not scan {label}:\n{result.stdout}\n{result.stderr}")
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = {"passed": 0, "failed": 0, "skipped": 0}
    failures: list[str] = []
    for item in reports:
        for key in summary:
            summary[key] += int(item.get("summary", {}).get(key, 0))
        for check in item.get("results", {}).get("failed_checks", []):
            failures.append(f"{check['check_id']} {check['resource']}: {check['check_name']}")
    return {"label": label, **summary, "failures": sorted(failures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkov", default=str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    parser.add_argument("--json", type=Path, help="write the counts here")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory(prefix="gatepass-checkov-") as tmp:
        transformed = Path(tmp) / "template.transformed.json"
        transformed.write_text(json.dumps(sam_transformed(), indent=1))
        targets = [(ROOT_TEMPLATE, "template.yaml")]
        targets += [(p, str(p.relative_to(ROOT))) for p in PLAIN_TEMPLATES if p.exists()]
        targets.append((transformed, "template.yaml (after the SAM transform)"))
        for path, label in targets:
            results.append(_run(args.checkov, path, label))

    failed = 0
    for result in results:
        print(
            f"checkov {result['label']}: {result['passed']} passed, "
            f"{result['failed']} failed, {result['skipped']} skipped"
        )
        for failure in result["failures"]:
            print(f"  FAILED {failure}")
        failed += result["failed"]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if failed:
        print(
            f"{failed} failed checkov checks: fix them, or skip each in the template's Metadata "
            "(checkov: skip: - id: ..., comment: why)."
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
