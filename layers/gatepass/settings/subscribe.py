"""SubscribeFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, IdentityTable, Mail, SubscriptionWorkflow


class SubscribeSettings(Api, IdentityTable, SubscriptionWorkflow, Mail, FunctionSettings):
    pass
