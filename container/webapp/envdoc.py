"""The table of the web's environment variables in docs/web.md, rendered from its settings models.

``python -m webapp.envdoc`` prints it; ``python -m webapp.envdoc --write docs/web.md`` replaces
the table between its markers (tests/template/test_docs_config.py fails when the two differ).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic.fields import FieldInfo

from webapp.config import (
    ApiSettings,
    CacheSettings,
    Config,
    DatabaseSettings,
    MediaSettings,
    SecuritySettings,
    TracingSettings,
    field_range,
)

TABLE_START = "<!-- web-environment: generated from container/webapp/config.py -->"
TABLE_END = "<!-- /web-environment -->"
GROUPS = (
    DatabaseSettings,
    CacheSettings,
    ApiSettings,
    SecuritySettings,
    MediaSettings,
    TracingSettings,
    Config,
)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value in (None, "", ()):
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _range(field: FieldInfo) -> str:
    low, high = field_range(field)
    if low is None or high is None:
        return ""
    return f"{low} to {high}"


def environment_table() -> str:
    """The docs' table of every variable the web reads, grouped as the models are."""
    lines = [
        TABLE_START,
        "",
        "| variable | default | range | what it is |",
        "| --- | --- | --- | --- |",
    ]
    for group in GROUPS:
        title = "Other" if group is Config else (group.__doc__ or "").strip().splitlines()[0]
        lines.append(f"| **{title}** | | | |")
        for name in group.__annotations__:
            if name.isupper() and name in Config.model_fields:
                field = Config.model_fields[name]
                lines.append(
                    f"| `{name}` | {_default(field)} | {_range(field)} | {field.description} |"
                )
    lines.extend(["", TABLE_END])
    return "\n".join(lines)


def rewrite_table(document: str) -> str:
    """``document`` with its generated table replaced by the current one."""
    head, rest = document.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return head + environment_table() + tail


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        target = Path(sys.argv[2])
        target.write_text(rewrite_table(target.read_text()))
    else:
        print(environment_table())
