"""UpdateTicketTypeFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class UpdateTicketTypeSettings(Api, TicketingTable, FunctionSettings):
    pass
