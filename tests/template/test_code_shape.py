"""Contracts on the shape of the code: the data layer alone knows storage keys, every handler
reads the same way, and each function's settings model agrees with the template and the docs."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest
from pydantic import BaseModel

from devstack.template import ROOT, TemplateModel
from gatepass.config import FunctionSettings, variables_table
from gatepass.dal.layout import offer_key, subscription_key
from gatepass.settings import MODULES, function_settings

pytestmark = pytest.mark.template

MODEL = TemplateModel()
# Spelled in pieces so that this file does not match itself.
KEY_PREFIXES = [name + "#" for name in ("EVENT", "TICKET", "HOLDER", "OTP", "SUB")]
KEY_LITERAL = re.compile("|".join(re.escape(prefix) for prefix in KEY_PREFIXES))
# The data layer, and the tests that check what it stores (unit and integration tiers).
MAY_KNOW_KEYS = ("layers/gatepass/dal/", "tests/unit/", "tests/integration/")
# Reference handlers for the cold-start bench that deliberately hold no Gatepass code.
NO_GATEPASS_BY_DESIGN = {
    "bench/stack_client_handler.py",
    "bench/conventions_handler.py",
    "bench/observability_handler.py",
    "bench/pydantic_handler.py",
}


def _python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(path for path in listed if (ROOT / path).exists())


def test_no_storage_key_literal_outside_the_data_layer() -> None:
    offenders = [
        f"{path}:{number}"
        for path in _python_files()
        if not path.startswith(MAY_KNOW_KEYS) and path not in NO_GATEPASS_BY_DESIGN
        for number, line in enumerate((ROOT / path).read_text().splitlines(), start=1)
        if KEY_LITERAL.search(line)
    ]
    assert offenders == [], f"storage keys belong in layers/gatepass/dal/: {offenders}"


def test_the_workflow_writes_the_subscription_under_the_data_layers_key() -> None:
    definition = json.loads((ROOT / "statemachines" / "subscription.asl.json").read_text())
    key = definition["States"]["Configure"]["Parameters"]["key"]
    expected = subscription_key("{}")
    assert key["pk"]["S.$"] == f"States.Format('{expected['pk']}', $.email)"
    assert key["sk"] == {"S": expected["sk"]}


def test_the_offer_timer_expires_the_offer_under_the_data_layers_key() -> None:
    definition = json.loads((ROOT / "statemachines" / "offer.asl.json").read_text())
    key = definition["States"]["Configure"]["Parameters"]["key"]
    expected = offer_key("{}")
    assert key["pk"]["S.$"] == f"States.Format('{expected['pk']}', $.offer_id)"
    assert key["sk"] == {"S": expected["sk"]}


# ---------------------------------------------------------------------------- handlers

HANDLERS = sorted(ROOT.glob("functions/*/app.py"))
HANDLER_IMPORTS = ("gatepass", "aws_lambda_powertools", "__future__", "typing", "functools")


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_every_handler_has_the_same_shape(path) -> None:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    outside = {name for name in imported if name not in HANDLER_IMPORTS and name != "urllib"}
    assert not outside, f"{path.parent.name} imports {outside}; handlers import the package"

    settings = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["settings"]
    ]
    assert len(settings) == 1, "one settings model, loaded at cold start"
    call = settings[0].value
    assert isinstance(call, ast.Call)
    assert isinstance(call.func, ast.Attribute)
    assert isinstance(call.func.value, ast.Name)
    assert (call.func.value.id.endswith("Settings"), call.func.attr, call.args) == (
        True,
        "load",
        [],
    )

    [handler] = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler"
    ]
    assert ast.unparse(handler.returns) == "dict[str, Any]"
    assert [ast.unparse(a.annotation) for a in handler.args.args if a.annotation][1:] == [
        "LambdaContext"
    ]
    routes = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and any(ast.unparse(d).startswith(("app.get(", "app.post(")) for d in n.decorator_list)
    ]
    if routes:
        assert ast.unparse(handler.body[-1]) == "return app.resolve(event, context)"


# ---------------------------------------------------------------------------- settings


FUNCTION_SETTINGS = function_settings()


def test_every_function_has_its_settings_model() -> None:
    assert set(FUNCTION_SETTINGS) == set(MODEL.functions)
    for logical_id, model in FUNCTION_SETTINGS.items():
        name = MODEL.functions[logical_id]["Properties"]["CodeUri"].strip("/").split("/")[-1]
        source = (ROOT / "functions" / name / "app.py").read_text()
        assert f"settings = {model.__name__}.load()" in source, logical_id


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_SETTINGS))
def test_a_settings_model_reads_every_field_of_its_mixins_and_nothing_else(
    logical_id: str,
) -> None:
    # The mixins are plain classes (decision 0080): pydantic collects their annotated fields
    # into the model that composes them, which alone is a pydantic model.
    model = FUNCTION_SETTINGS[logical_id]
    mixins = [base for base in model.__mro__[1:] if base.__module__ == "gatepass.config"]
    declared = {name for mixin in mixins for name in vars(mixin).get("__annotations__", {})}
    assert set(model.model_fields) == declared - {"model_config"}
    assert [m for m in mixins if issubclass(m, BaseModel)] == [FunctionSettings]
    assert model.__module__ == f"gatepass.settings.{MODULES[logical_id]}"


@pytest.mark.parametrize("logical_id", sorted(FUNCTION_SETTINGS))
def test_the_template_sets_what_the_settings_model_reads(logical_id: str) -> None:
    model: type[FunctionSettings] = FUNCTION_SETTINGS[logical_id]
    given = set(MODEL.function_env(logical_id))
    own = set(MODEL.functions[logical_id]["Properties"].get("Environment", {}).get("Variables", {}))
    variables = model.variables()
    required = {name for name, (needed, _) in variables.items() if needed}
    assert required <= given, f"{logical_id} lacks {sorted(required - given)}"
    assert own <= set(variables), f"{logical_id} sets {sorted(own - set(variables))} unread"
    # And a cold start with the template's environment validates.
    model.load(MODEL.function_env(logical_id))


def test_a_missing_variable_fails_the_cold_start_naming_itself() -> None:
    from gatepass.config import ConfigurationError
    from gatepass.settings.create_ticket import CreateTicketSettings

    with pytest.raises(ConfigurationError, match="TICKET_KEYS_KEY_ID"):
        CreateTicketSettings.load(
            {
                "TICKETING_TABLE": "t",
                "IDEMPOTENCY_TABLE": "i",
                "TICKETS_BUCKET": "b",
                "TICKET_KEY_SECRET_ARN": "s",
            }
        )


@pytest.mark.parametrize(
    ("function", "environ", "complaint"),
    [
        ("SubscribeFunction", {"MAIL_CHANNEL": "SES"}, "MAIL_CHANNEL SES needs MAIL_FROM_ADDRESS"),
        ("CancelEventFunction", {"MAIL_CHANNEL": "SNS"}, "MAIL_CHANNEL SNS needs MAIL_TOPIC_ARN"),
        ("VerifyIdTokenFunction", {"OIDC_ISSUER": "https://id.example"}, "needs OIDC_CLIENT_ID"),
        ("EventsReadFunction", {"PRESIGNED_URL_TTL_SECONDS": "5"}, "PRESIGNED_URL_TTL_SECONDS"),
    ],
)
def test_a_mixins_own_rule_fails_the_cold_start_of_every_model_composing_it(
    function: str, environ: dict[str, str], complaint: str
) -> None:
    from gatepass.config import ConfigurationError

    given = {**MODEL.function_env(function), "MAIL_TOPIC_ARN": "", **environ}
    with pytest.raises(ConfigurationError, match=complaint):
        FUNCTION_SETTINGS[function].load(given)


def test_the_documented_variables_are_the_models() -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    documented = docs.split("<!-- BEGIN function settings (generated) -->\n", 1)[1].split(
        "<!-- END function settings (generated) -->", 1
    )[0]
    assert documented == variables_table(), (
        "regenerate: PYTHONPATH=layers .venv/bin/python -m gatepass.config"
    )


def test_the_settings_table_is_printable() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "gatepass.config"],
        cwd=ROOT / "layers",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == variables_table()
