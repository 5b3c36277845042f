"""ProjectorFunction's settings: the variables the template gives it."""

from gatepass.config import FunctionSettings, ReadModel


class ProjectorSettings(ReadModel, FunctionSettings):
    pass
