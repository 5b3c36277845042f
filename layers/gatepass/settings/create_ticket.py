"""CreateTicketFunction's settings: the variables the template gives it."""

from gatepass.config import (
    Api,
    FunctionSettings,
    IdempotencyTable,
    IssuesTickets,
    QueueTokenKey,
    TicketingTable,
)


class CreateTicketSettings(
    Api,
    TicketingTable,
    IdempotencyTable,
    IssuesTickets,
    QueueTokenKey,
    FunctionSettings,
):
    pass
