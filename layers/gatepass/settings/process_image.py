"""ProcessImageFunction's settings: the variables the template gives it."""

from gatepass.config import FunctionSettings, MediaBucket, TicketingTable, UploadsBucket


class ProcessImageSettings(TicketingTable, UploadsBucket, MediaBucket, FunctionSettings):
    pass
