"""ReissueTicketFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, IssuesTickets, Mail, TicketingTable


class ReissueTicketSettings(Api, TicketingTable, IssuesTickets, Mail, FunctionSettings):
    pass
