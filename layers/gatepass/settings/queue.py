"""QueueFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, QueueTokenKey, TicketingTable


class QueueSettings(Api, TicketingTable, QueueTokenKey, FunctionSettings):
    pass
