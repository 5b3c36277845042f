"""GoogleWalletLinkFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, GoogleWalletSecret, Site, TicketingTable


class GoogleWalletLinkSettings(Api, TicketingTable, GoogleWalletSecret, Site, FunctionSettings):
    pass
