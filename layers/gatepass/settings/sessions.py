"""SessionsFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, IdentityTable, Sessions, SessionSigningKey


class SessionsSettings(Api, IdentityTable, SessionSigningKey, Sessions, FunctionSettings):
    pass
