"""GetQrCodeFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, PresignedUrls, TicketingTable, TicketsBucket


class GetQrCodeSettings(Api, TicketingTable, TicketsBucket, PresignedUrls, FunctionSettings):
    pass
