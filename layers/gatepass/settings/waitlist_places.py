"""WaitlistPlacesFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, TicketingTable


class WaitlistPlacesSettings(Api, TicketingTable, FunctionSettings):
    pass
