"""RotateEventKeyFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable, TicketKeysKey


class RotateEventKeySettings(Api, TicketingTable, TicketKeysKey, FunctionSettings):
    pass
