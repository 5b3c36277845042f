"""DeliverTicketsFunction's settings: the variables the template gives it."""

from gatepass.config import FunctionSettings, Mail, Site, TicketingTable


class DeliverTicketsSettings(TicketingTable, Mail, Site, FunctionSettings):
    pass
