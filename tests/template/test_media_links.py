"""Behind CloudFront the site links event images to the distribution's cached /media/*: the root
stack passes the setting whenever the distribution exists, and the task definition sets it."""

from __future__ import annotations

from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from devstack.template import ROOT
from webapp.config import Config

pytestmark = pytest.mark.template

ROOT_RESOURCES: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]
NESTED: dict[str, Any] = yaml_parse((ROOT / "container" / "template.yaml").read_text())


def _environment_entry(name: str) -> Any:
    containers = NESTED["Resources"]["WebTaskDefinition"]["Properties"]["ContainerDefinitions"]
    [container] = [c for c in containers if c.get("Name") == "web"]
    found = [
        e
        for e in container["Environment"]
        if (e.get("Fn::If", [None, {}])[1] if "Fn::If" in e else e).get("Name") == name
    ]
    assert len(found) == 1, name
    return found[0]


def test_where_the_distribution_exists_the_site_is_told_to_link_to_its_media_path() -> None:
    web, site = ROOT_RESOURCES["WebService"], ROOT_RESOURCES["SiteDistribution"]
    # The web service and the distribution exist together
    assert web["Condition"] == site["Condition"]
    # And the distribution serves /media/* from the media bucket through origin access control
    config = site["Properties"]["DistributionConfig"]
    [media] = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/media/*"]
    [origin] = [o for o in config["Origins"] if o["Id"] == media["TargetOriginId"]]
    assert origin["DomainName"] == {"Fn::GetAtt": ["MediaBucket", "RegionalDomainName"]}
    assert "OriginAccessControlId" in origin
    assert media["AllowedMethods"] == ["GET", "HEAD"]
    # And the root stack passes that path (same origin as the site, which the same distribution
    # serves) to the web service
    assert web["Properties"]["Parameters"]["MediaBaseUrl"] == "/media"


def test_the_task_definition_sets_media_base_url_from_the_parameter_when_given() -> None:
    parameter = NESTED["Parameters"]["MediaBaseUrl"]
    assert parameter["Default"] == ""
    entry = _environment_entry("MEDIA_BASE_URL")
    condition, present, absent = entry["Fn::If"]
    assert NESTED["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "MediaBaseUrl"}, ""]}]
    }
    assert present == {"Name": "MEDIA_BASE_URL", "Value": {"Ref": "MediaBaseUrl"}}
    assert absent == {"Ref": "AWS::NoValue"}
    # The value the root passes is one the web accepts.
    Config.from_env(
        {
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": "postgresql://gatepass@db.internal/gatepass",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "API_URL": "https://api.invalid/dev",
            "MEDIA_BASE_URL": ROOT_RESOURCES["WebService"]["Properties"]["Parameters"][
                "MediaBaseUrl"
            ],
        }
    )


def test_the_task_role_signs_media_reads_only_when_the_site_pre_signs_them() -> None:
    policies = NESTED["Resources"]["WebTaskRole"]["Properties"]["Policies"]
    [presign] = [
        p for p in policies if "Fn::If" in p and p["Fn::If"][1]["PolicyName"] == "PresignMediaReads"
    ]
    condition, present, absent = presign["Fn::If"]
    assert present["PolicyName"] == "PresignMediaReads"
    assert absent == {"Ref": "AWS::NoValue"}
    assert NESTED["Conditions"][condition] == {"Fn::Equals": [{"Ref": "MediaBaseUrl"}, ""]}
