"""Read ``template.yaml`` and stand its resources up against any AWS endpoint (moto in-process,
moto's server, or a real account in a test sandbox).

This is the only place outside the template that knows which tables, buckets, topics, queues,
secrets and state machines Gatepass has: tests and ``make dev`` both build from here, so the
template stays the single list.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

_NO_VALUE = object()
# Fn::GetAtt Arn of the resources moto names after the stack: service, and what precedes the name.
ARN_RESOURCES = {
    "AWS::DynamoDB::Table": ("dynamodb", "table/"),
    "AWS::SQS::Queue": ("sqs", ""),
    "AWS::Serverless::Function": ("lambda", "function:"),
    "AWS::Logs::LogGroup": ("logs", "log-group:"),
    "AWS::KMS::Key": ("kms", "key/"),
}


@lru_cache(maxsize=16)
def _parse(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(path.read_text())
    return parsed


@dataclass(frozen=True)
class ApiRoute:
    function: str
    path: str
    method: str
    authorized: bool
    request_model: str | None


@dataclass
class TemplateModel:
    path: Path = TEMPLATE
    parameters: dict[str, str] = field(default_factory=dict)
    account_id: str = "123456789012"
    region: str = "us-east-1"
    stack_name: str = "gatepass"
    # Filled in as resources are created: logical id -> physical id/ARN that only exists then.
    created: dict[str, dict[str, str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ reading

    @cached_property
    def document(self) -> dict[str, Any]:
        # Each model gets its own copy of one parse per file version: samtranslator's parser is
        # pure Python and takes seconds on this template, and every test builds a model.
        stat = self.path.stat()
        return copy.deepcopy(_parse(self.path, stat.st_mtime_ns, stat.st_size))

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.document["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name])
        return str(self.document["Parameters"][name].get("Default", ""))

    def condition(self, name: str) -> bool:
        return bool(self._evaluate_condition(self.document["Conditions"][name]))

    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function")

    def function_dir(self, logical_id: str) -> Path:
        return ROOT / str(self.functions[logical_id]["Properties"]["CodeUri"])

    def function_env(self, logical_id: str) -> dict[str, str]:
        """The environment Lambda would give this function: Globals merged with its own."""
        variables: dict[str, Any] = {}
        global_env = self.document.get("Globals", {}).get("Function", {}).get("Environment", {})
        variables.update(global_env.get("Variables", {}))
        own_env = self.functions[logical_id]["Properties"].get("Environment", {})
        variables.update(own_env.get("Variables", {}))
        resolved = {k: self.resolve(v) for k, v in variables.items()}
        return {k: str(v) for k, v in resolved.items() if v is not _NO_VALUE}

    def all_function_env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for logical_id in self.functions:
            for key, value in self.function_env(logical_id).items():
                if key in env and env[key] != value:
                    raise ValueError(f"{key} differs between functions: {env[key]} != {value}")
                env[key] = value
        return env

    def api_routes(self) -> list[ApiRoute]:
        api = next(iter(self.of_type("AWS::Serverless::Api").values()))
        default_auth = api["Properties"].get("Auth", {}).get("DefaultAuthorizer")
        routes = []
        for logical_id, function in self.functions.items():
            for event in function["Properties"].get("Events", {}).values():
                if event["Type"] != "Api":
                    continue
                props = event["Properties"]
                authorizer = props.get("Auth", {}).get("Authorizer", default_auth)
                model = props.get("RequestModel", {}).get("Model")
                routes.append(
                    ApiRoute(
                        function=logical_id,
                        path=props["Path"],
                        method=props["Method"].upper(),
                        authorized=authorizer not in (None, "NONE"),
                        request_model=model,
                    )
                )
        return routes

    def api_models(self) -> dict[str, dict[str, Any]]:
        api = next(iter(self.of_type("AWS::Serverless::Api").values()))
        models: dict[str, dict[str, Any]] = api["Properties"].get("Models", {})
        return models

    def authorizer_function(self) -> str:
        api = next(iter(self.of_type("AWS::Serverless::Api").values()))
        auth = api["Properties"]["Auth"]
        arn = auth["Authorizers"][auth["DefaultAuthorizer"]]["FunctionArn"]
        if "Ref" in arn:  # !Ref <Function>.Alias: SAM's alias of the function (SnapStart)
            return str(arn["Ref"]).split(".")[0]
        get_att = arn["Fn::GetAtt"]
        return str(get_att[0] if isinstance(get_att, list) else get_att.split(".")[0])

    def state_machine_definition(self, logical_id: str) -> dict[str, Any]:
        props = self.resources[logical_id]["Properties"]
        text = (ROOT / props["DefinitionUri"]).read_text()
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            text = text.replace("${" + key + "}", str(self.resolve(value)))
        definition: dict[str, Any] = json.loads(text)
        return definition

    # ------------------------------------------------------------------ names

    def physical_name(self, logical_id: str) -> str:
        """What ``Ref`` gives for a resource, as deployed by this model."""
        if logical_id in self.created and "ref" in self.created[logical_id]:
            return self.created[logical_id]["ref"]
        resource = self.resources[logical_id]
        kind = resource["Type"]
        props = resource.get("Properties", {})
        name = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            if "BucketName" in props:
                return str(self.resolve(props["BucketName"]))
            return f"{self.stack_name}-{logical_id.lower()}-{self.account_id}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account_id}:{name}"
        if kind in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{name}"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{name}"
        if kind == "AWS::KMS::Alias":
            return str(self.resolve(props["AliasName"]))
        return name

    def attribute(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = f"{self.stack_name}-{logical_id}"
        if attribute == "Arn":
            if kind == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{self.physical_name(logical_id)}"
            if kind == "AWS::KMS::Key" and "arn" in self.created.get(logical_id, {}):
                return self.created[logical_id]["arn"]
            if kind in ARN_RESOURCES:
                service, resource = ARN_RESOURCES[kind]
                return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}{name}"
            return self.physical_name(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return name
        if attribute == "StreamArn" and kind == "AWS::DynamoDB::Table":
            return self.created.get(logical_id, {}).get(
                "stream_arn", f"{self.attribute(logical_id, 'Arn')}/stream/local"
            )
        raise KeyError(f"{logical_id}.{attribute}")

    # ------------------------------------------------------------------ intrinsics

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.document.get("Parameters", {}):
            return self.parameter(name)
        return self.physical_name(name)

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(self.resolve(variables[token]))
            if "." in token:
                logical_id, attribute = token.split(".", 1)
                return self.attribute(logical_id, attribute)
            return str(self._ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def _evaluate_condition(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self._evaluate_condition(value[0])
            if key == "Fn::And":
                return all(self._evaluate_condition(v) for v in value)
            if key == "Fn::Or":
                return any(self._evaluate_condition(v) for v in value)
            if key == "Condition":
                return self.condition(value)
        return self.resolve(node)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(n) for n in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Fn::Sub":
                if isinstance(value, list):
                    return self._sub(value[0], value[1])
                return self._sub(value, {})
            if key == "Fn::GetAtt":
                logical_id, attribute = value if isinstance(value, list) else value.split(".", 1)
                if attribute.startswith("Outputs.") and self.resources[logical_id]["Type"] == (
                    "AWS::Serverless::Application"
                ):
                    # A nested stack's outputs exist only once it is deployed: locally, absent.
                    return _NO_VALUE
                return self.attribute(logical_id, attribute)
            if key == "Fn::If":
                name, when_true, when_false = value
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                separator, parts = value
                return separator.join(str(p) for p in self.resolve(parts))
        return {
            k: r for k, r in ((k, self.resolve(v)) for k, v in node.items()) if r is not _NO_VALUE
        }

    # ------------------------------------------------------------------ creating

    def create_all(self, session: Any, *, endpoint_url: str | None = None) -> None:
        """Create tables, buckets, topic, queues, secrets and state machines through ``session``."""

        def client(service: str) -> Any:
            return session.client(service, region_name=self.region, endpoint_url=endpoint_url)

        self._create_tables(client("dynamodb"))
        self._create_buckets(client("s3"))
        self._create_queues(client("sqs"))
        self._create_topics(client("sns"))
        self._create_secrets(client("secretsmanager"))
        self._create_keys(client("kms"))
        self._create_state_machines(client("stepfunctions"), client("iam"))

    def _create_tables(self, dynamodb: Any) -> None:
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            name = self.physical_name(logical_id)
            args: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if props.get("StreamSpecification"):
                args["StreamSpecification"] = {
                    "StreamEnabled": True,
                    **props["StreamSpecification"],
                }
            described = dynamodb.create_table(**args)["TableDescription"]
            if described.get("LatestStreamArn"):
                self.created.setdefault(logical_id, {})["stream_arn"] = described["LatestStreamArn"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    def _create_buckets(self, s3: Any) -> None:
        for logical_id, resource in self.of_type("AWS::S3::Bucket").items():
            name = self.physical_name(logical_id)
            if self.region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(
                    Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region}
                )
            cors = resource["Properties"].get("CorsConfiguration")
            if cors:
                rules = [
                    {
                        "AllowedMethods": rule["AllowedMethods"],
                        "AllowedOrigins": rule["AllowedOrigins"],
                        "AllowedHeaders": rule.get("AllowedHeaders", []),
                        "MaxAgeSeconds": int(rule.get("MaxAge", 0)),
                    }
                    for rule in self.resolve(cors)["CorsRules"]
                ]
                s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})

    def _create_queues(self, sqs: Any) -> None:
        for logical_id in self.of_type("AWS::SQS::Queue"):
            url = sqs.create_queue(QueueName=self.attribute(logical_id, "QueueName"))["QueueUrl"]
            self.created.setdefault(logical_id, {})["ref"] = url

    def _create_topics(self, sns: Any) -> None:
        for logical_id in self.of_type("AWS::SNS::Topic"):
            arn = sns.create_topic(Name=self.attribute(logical_id, "TopicName"))["TopicArn"]
            self.created.setdefault(logical_id, {})["ref"] = arn

    def _create_secrets(self, secretsmanager: Any) -> None:
        alphabet = string.ascii_letters + string.digits
        for logical_id, resource in self.of_type("AWS::SecretsManager::Secret").items():
            generate = resource["Properties"].get("GenerateSecretString", {})
            length = int(generate.get("PasswordLength", 32))
            value = "".join(secrets.choice(alphabet) for _ in range(length))
            generator = resource.get("Metadata", {}).get("devstack", {}).get("generate")
            if generator:
                # Credentials of another party's shape (wallet keys): generated stand-ins.
                from devstack.wallet_credentials import GENERATORS

                value = GENERATORS[generator]()
            name = self.physical_name(logical_id)
            secretsmanager.create_secret(Name=name, SecretString=value)
            # Ref of a secret is its ARN in CloudFormation; the name works as SecretId too.
            self.created.setdefault(logical_id, {})["ref"] = name

    def _create_keys(self, kms: Any) -> None:
        """The KMS keys that Gatepass itself calls, and their aliases, which name them: the
        asymmetric session-signing key and the symmetric key sealing ticket keys (those that
        say their ``KeyUsage``; keys only AWS services use, like the topics', are left out)."""
        for logical_id, resource in self.of_type("AWS::KMS::Key").items():
            props = resource["Properties"]
            if props.get("KeyUsage") not in ("SIGN_VERIFY", "ENCRYPT_DECRYPT"):
                continue
            key = kms.create_key(
                Description=str(props.get("Description", logical_id)),
                KeySpec=props["KeySpec"],
                KeyUsage=props["KeyUsage"],
            )["KeyMetadata"]
            self.created.setdefault(logical_id, {}).update(ref=key["KeyId"], arn=key["Arn"])
        for logical_id, resource in self.of_type("AWS::KMS::Alias").items():
            target = resource["Properties"]["TargetKeyId"].get("Ref")
            if target in self.created:
                kms.create_alias(
                    AliasName=self.physical_name(logical_id),
                    TargetKeyId=self.created[target]["ref"],
                )

    def _create_state_machines(self, stepfunctions: Any, iam: Any) -> None:
        machines = self.of_type("AWS::Serverless::StateMachine")
        if not machines:
            return
        role_arn = iam.create_role(
            RoleName=f"{self.stack_name}-state-machines",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        for logical_id, resource in machines.items():
            created = stepfunctions.create_state_machine(
                name=self.attribute(logical_id, "Name"),
                definition=json.dumps(self.state_machine_definition(logical_id)),
                roleArn=role_arn,
                type=resource["Properties"].get("Type", "STANDARD"),
            )
            self.created.setdefault(logical_id, {})["ref"] = created["stateMachineArn"]
