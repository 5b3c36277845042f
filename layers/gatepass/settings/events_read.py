"""EventsReadFunction's settings: the variables the template gives it."""

from gatepass.config import Api, FunctionSettings, MediaBucket, PresignedUrls, TicketingTable


class EventsReadSettings(Api, TicketingTable, MediaBucket, PresignedUrls, FunctionSettings):
    pass
