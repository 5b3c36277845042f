"""AuthorizerFunction's settings: the variables the template gives it."""

from gatepass.config import FunctionSettings, IdentityTable, Sessions, SessionSigningKey


class AuthorizerSettings(IdentityTable, SessionSigningKey, Sessions, FunctionSettings):
    pass
