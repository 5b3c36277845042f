"""LogActivityFunction's settings: the variables the template gives it."""

from gatepass.config import ActivityTable, Api, FunctionSettings, SessionSigningKey


class LogActivitySettings(Api, ActivityTable, SessionSigningKey, FunctionSettings):
    pass
