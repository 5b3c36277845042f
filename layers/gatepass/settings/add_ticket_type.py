"""AddTicketTypeFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class AddTicketTypeSettings(Api, TicketingTable, FunctionSettings):
    pass
