"""OffersFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, IssuesTickets, TicketingTable


class OffersSettings(Api, TicketingTable, IssuesTickets, FunctionSettings):
    pass
