"""ScannerBundleFunction's settings: the variables the template gives it."""

from gatepass.config import Api, BundleKey, FunctionSettings, TicketingTable


class ScannerBundleSettings(Api, TicketingTable, BundleKey, FunctionSettings):
    pass
