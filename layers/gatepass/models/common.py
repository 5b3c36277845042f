"""Field types shared by every domain."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from gatepass.ids import ID_PATTERN


class Model(BaseModel):
    """What every Gatepass model derives from. Its validator is built when the model is first
    used, not when its module is imported: a function imports the models of a whole domain and
    uses two or three of them, and building the others cost a noticeable part of every cold
    start (docs/performance.md)."""

    model_config = ConfigDict(defer_build=True)


# Deliberately plain: a local part, one @, and a dotted domain with a real TLD. Delivery is the
# true test (the subscription workflow waits for the address to confirm).
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def normalize_email(value: str) -> str:
    candidate = value.strip()
    if len(candidate) > 254 or not _EMAIL.match(candidate):
        raise ValueError("not a valid email address")
    local, domain = candidate.rsplit("@", 1)
    return f"{local}@{domain.lower()}".lower()


Email = Annotated[str, AfterValidator(normalize_email)]


def _fold_case(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


# Ids are case-insensitive (base32): fold case before the pattern is checked.
GatepassId = Annotated[
    str, BeforeValidator(_fold_case), StringConstraints(pattern=ID_PATTERN.pattern)
]

AttendeeName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]

# A ticket code as a scanner or a holder sends it (the signed text a QR code carries).
TicketCodeText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)
]
