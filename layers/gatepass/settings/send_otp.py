"""SendOtpFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, IdentityTable, Mail, SessionKey, SignIn


class SendOtpSettings(Api, IdentityTable, SessionKey, Mail, SignIn, FunctionSettings):
    pass
