"""EventRevocationsFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class EventRevocationsSettings(Api, TicketingTable, FunctionSettings):
    pass
