"""VerifyIdTokenFunction's settings: the variables the template gives it."""

from gatepass.config import (
    Api,
    FunctionSettings,
    IdentityProvider,
    IdentityTable,
    SessionSigningKey,
    SignInSessions,
)


class VerifyIdTokenSettings(
    Api, IdentityTable, SessionSigningKey, IdentityProvider, SignInSessions, FunctionSettings
):
    pass
