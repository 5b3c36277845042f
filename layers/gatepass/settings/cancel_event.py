"""CancelEventFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, Mail, TicketingTable


class CancelEventSettings(Api, TicketingTable, Mail, FunctionSettings):
    pass
