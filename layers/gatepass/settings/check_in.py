"""CheckInFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class CheckInSettings(Api, TicketingTable, FunctionSettings):
    pass
