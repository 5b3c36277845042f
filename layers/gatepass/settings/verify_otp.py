"""VerifyOtpFunction's settings: the variables the template gives it."""

from gatepass.config import (
    Api,
    FunctionSettings,
    IdentityTable,
    SessionKey,
    SessionSigningKey,
    SignInSessions,
)


class VerifyOtpSettings(
    Api, IdentityTable, SessionKey, SessionSigningKey, SignInSessions, FunctionSettings
):
    pass
