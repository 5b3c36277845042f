"""AppleWalletPassFunction's settings: the variables the template gives it."""

from gatepass.config import (
    Api,
    ApplePassSecret,
    FunctionSettings,
    PresignedUrls,
    Site,
    TicketingTable,
    TicketsBucket,
)


class AppleWalletPassSettings(
    Api, TicketingTable, TicketsBucket, PresignedUrls, ApplePassSecret, Site, FunctionSettings
):
    pass
