"""CancelTicketFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class CancelTicketSettings(Api, TicketingTable, FunctionSettings):
    pass
