"""DoorFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class DoorSettings(Api, TicketingTable, FunctionSettings):
    pass
