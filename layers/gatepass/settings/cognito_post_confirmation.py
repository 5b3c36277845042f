"""CognitoPostConfirmationFunction's settings: the variables the template gives it."""

from gatepass.config import FunctionSettings, ReadModel


class CognitoPostConfirmationSettings(ReadModel, FunctionSettings):
    pass
