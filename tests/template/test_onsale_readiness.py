"""Ready before the doors open (issue 13, item 3): warm throughput for the ticketing table and
provisioned concurrency for the sale path are stack parameters an operator sets before an
announced on-sale, and the combinations AWS would refuse are refused before a deploy."""

from __future__ import annotations

from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT
from tests.support.rules import RuleEvaluator
from tools.checkov_gate import sam_transformed

pytestmark = pytest.mark.template

TEMPLATE: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
PREFIX_LIST = {"WebCloudFrontPrefixListId": "pl-4fa04526"}


def _failures(**values: Any) -> list[str]:
    return RuleEvaluator(TEMPLATE, {**PREFIX_LIST, **values}, "eu-west-1").failures()


def test_by_default_nothing_is_warmed_or_provisioned() -> None:
    conditions = TEMPLATE["Conditions"]
    parameters = TEMPLATE["Parameters"]
    # The defaults make both conditions false: nothing is paid for between on-sales
    assert parameters["SaleProvisionedConcurrency"]["Default"] == 0
    assert parameters["TicketingWarmWriteUnits"]["Default"] == "0"
    assert conditions["HasSaleProvisionedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SaleProvisionedConcurrency"}, 0]}]
    }
    assert conditions["HasTicketingWarmWrites"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "TicketingWarmWriteUnits"}, "0"]}]
    }


def test_the_sale_alias_and_the_table_take_the_warming_when_it_is_set() -> None:
    # When the SAM transform runs
    resources = sam_transformed()["Resources"]

    # Then the alias API Gateway invokes carries the provisioned concurrency, under its condition
    alias = resources["CreateTicketFunctionAliaslive"]["Properties"]
    assert alias["ProvisionedConcurrencyConfig"] == {
        "Fn::If": [
            "HasSaleProvisionedConcurrency",
            {"ProvisionedConcurrentExecutions": {"Ref": "SaleProvisionedConcurrency"}},
            {"Ref": "AWS::NoValue"},
        ]
    }
    # and the ticketing table its warm throughput
    warm = resources["TicketingTable"]["Properties"]["WarmThroughput"]["Fn::If"]
    assert warm[0] == "HasTicketingWarmWrites"
    assert warm[1]["WriteUnitsPerSecond"] == {"Ref": "TicketingWarmWriteUnits"}


@pytest.mark.parametrize(
    ("units", "valid"),
    [
        ("0", True),
        ("4000", True),
        ("12000", True),
        ("999999", True),
        ("3999", False),
        ("-1", False),
    ],
)
def test_warm_writes_are_none_or_at_least_what_a_new_table_already_serves(
    units: str, valid: bool
) -> None:
    import re

    pattern = TEMPLATE["Parameters"]["TicketingWarmWriteUnits"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, units)) is valid


def test_provisioned_concurrency_with_snapstart_is_refused_before_a_deploy() -> None:
    failures = _failures(
        SaleProvisionedConcurrency=50, EnableSnapStart="true", PythonRuntime="python3.12"
    )
    assert any(f.startswith("ProvisionedConcurrencyIsNotForSnapStart:") for f in failures)


def test_warm_reads_without_warm_writes_are_refused() -> None:
    failures = _failures(TicketingWarmReadUnits="20000")
    assert any(f.startswith("WarmReadsNeedWarmWrites:") for f in failures)


def test_an_announced_on_sale_passes_the_rules() -> None:
    assert (
        _failures(
            SaleProvisionedConcurrency=100,
            TicketingWarmWriteUnits="12000",
            TicketingWarmReadUnits="24000",
        )
        == []
    )
