"""CloudFormation's Rules, evaluated in Python as CloudFormation would before a deploy: no AWS
account is needed to show that a combination of parameters is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RuleEvaluator:
    """Evaluates the intrinsic functions CloudFormation allows in Rules."""

    def __init__(self, template: Mapping[str, Any], values: Mapping[str, Any], region: str):
        self.template = template
        self.region = region
        declared = template.get("Parameters", {})
        unknown = set(values) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.values = {
            name: str(values.get(name, spec.get("Default", ""))) for name, spec in declared.items()
        }
        missing = [
            name for name, spec in declared.items() if name not in values and "Default" not in spec
        ]
        assert not missing, f"parameters without a default need a value: {missing}"

    def value(self, node: Any) -> Any:
        if isinstance(node, dict):
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.region if arg == "AWS::Region" else self.values[arg]
            if key == "Fn::Equals":
                left, right = (self.value(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(v) for v in arg)
            if key == "Fn::Or":
                return any(self.value(v) for v in arg)
            if key == "Fn::Contains":
                haystack, needle = (self.value(v) for v in arg)
                return needle in haystack
            raise AssertionError(f"not a Rules function: {key}")
        return node

    def failures(self) -> list[str]:
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            failed += [
                f"{name}: {assertion['AssertDescription']}"
                for assertion in rule["Assertions"]
                if not self.value(assertion["Assert"])
            ]
        return failed
