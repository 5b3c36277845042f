"""CreateEventFunction's settings: the variables the template gives it."""

from gatepass.config import (
    Api,
    FunctionSettings,
    PresignedUrls,
    TicketingTable,
    TicketKeysKey,
    UploadsBucket,
)


class CreateEventSettings(
    Api, TicketingTable, UploadsBucket, TicketKeysKey, PresignedUrls, FunctionSettings
):
    pass
