"""The single-table layouts (docs/architecture.md): every key, prefix and index name.

Only the data layer builds or reads a key; logic and everything else pass ids and typed
records. The subscription workflow (statemachines/subscription.asl.json) writes the
subscription item itself; a template test keeps its key format equal to ``subscription_key``.
"""

from __future__ import annotations

Key = dict[str, str]

# TicketingTable ------------------------------------------------------------------------------
META = "META"
EVENTS_INDEX = "gsi1"
"""gsi1 of the TicketingTable: upcoming events (``EVENTS`` / ``<starts_at>#<event_id>``) and an
event's tickets (``EVENT#<event_id>#TICKETS`` / ``<holder>``)."""
EVENT_TICKETS_INDEX = "gsi1"
HOLDER_TICKETS_INDEX = "gsi2"
"""gsi2 of the TicketingTable: an organizer's events and a holder's tickets."""
EVENTS_PARTITION = "EVENTS"
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk")


def event_key(event_id: str) -> Key:
    return {"pk": f"EVENT#{event_id}", "sk": META}


def event_id_of(partition: str) -> str | None:
    """The event id of an event's partition key, None for any other key."""
    prefix = "EVENT#"
    return partition[len(prefix) :] if partition.startswith(prefix) else None


def event_index_keys(event_id: str, *, starts_at: str, organizer: str, created_at: str) -> Key:
    return {
        "gsi1pk": EVENTS_PARTITION,
        "gsi1sk": f"{starts_at}#{event_id}",
        "gsi2pk": organizer_partition(organizer),
        "gsi2sk": f"{created_at}#{event_id}",
    }


def organizer_partition(organizer: str) -> str:
    return f"ORGANIZER#{organizer}"


def ticket_key(ticket_id: str) -> Key:
    return {"pk": f"TICKET#{ticket_id}", "sk": META}


def ticket_mail_key(ticket_id: str) -> Key:
    """The record that a ticket's email was claimed and sent (docs/decisions/0067)."""
    return {"pk": f"TICKET#{ticket_id}", "sk": "MAIL"}


def event_tickets_partition(event_id: str, shard: int | None = None) -> str:
    """An event's attendees index partition: the event's own for tickets sold from its own
    counters, one per stock shard for tickets sold from a shard (docs/decisions/0070)."""
    base = f"EVENT#{event_id}#TICKETS"
    return base if shard is None else f"{base}#{shard}"


def event_tickets_partitions(event_id: str, shards: int) -> list[str]:
    """Every attendees index partition of an event sold from ``shards`` stock shards."""
    found = [event_tickets_partition(event_id)]
    if shards > 1:
        found += [event_tickets_partition(event_id, k) for k in range(shards)]
    return found


def holder_partition(holder: str) -> str:
    return f"HOLDER#{holder}"


def ticket_index_keys(
    ticket_id: str, *, event_id: str, holder: str, issued_at: str, shard: int | None = None
) -> Key:
    return {
        "gsi1pk": event_tickets_partition(event_id, shard),
        "gsi1sk": holder,
        "gsi2pk": holder_partition(holder),
        "gsi2sk": f"{issued_at}#{ticket_id}",
    }


# An event's partition also holds its seats counter and its ticket types (docs/decisions/0050).
SEATS = "SEATS"
TYPE_PREFIX = "TYPE#"


def event_partition(event_id: str) -> str:
    return f"EVENT#{event_id}"


def seats_key(event_id: str) -> Key:
    return {"pk": event_partition(event_id), "sk": SEATS}


def ticket_type_key(event_id: str, ticket_type_id: str) -> Key:
    return {"pk": event_partition(event_id), "sk": f"{TYPE_PREFIX}{ticket_type_id}"}


# Stock shards (docs/decisions/0070): an event sold from more than one shard keeps its seats and
# each type's quota for sale in ``STOCK#<event_id>#<k>`` items, each on its own partition, and a
# summary of which shards are known empty on the event's own partition (read with the event).
STOCK = "STOCK"


def stock_shard_key(event_id: str, shard: int) -> Key:
    return {"pk": f"{STOCK}#{event_id}#{shard}", "sk": STOCK}


def stock_summary_key(event_id: str) -> Key:
    return {"pk": event_partition(event_id), "sk": STOCK}


def buyer_key(event_id: str, buyer: str) -> Key:
    """Off the event's partition, so a rush spreads its buyers' writes."""
    return {"pk": f"BUYER#{event_id}#{buyer}", "sk": META}


def order_key(order_id: str) -> Key:
    return {"pk": f"ORDER#{order_id}", "sk": META}


def revocations_partition(event_id: str) -> str:
    return f"REVOKED#{event_id}"


def revocation_key(event_id: str, revoked_at: str, ticket_id: str) -> Key:
    return {"pk": revocations_partition(event_id), "sk": f"{revoked_at}#{ticket_id}"}


# The door (docs/decisions/0060): an event's partition holds its door staff and its gates; a
# staff member's assignments are found through gsi2. Synced offline scans sit in their own
# partition per event, one item per scan nonce, and the scans that need the organizer's eye
# (conflicts, refusals) under a second prefix there.
STAFF_PREFIX = "STAFF#"
GATE_PREFIX = "GATE#"
SCAN_PREFIX = "NONCE#"
ISSUE_PREFIX = "ISSUE#"


def staff_key(event_id: str, email: str) -> Key:
    return {"pk": event_partition(event_id), "sk": f"{STAFF_PREFIX}{email}"}


def staff_index_keys(event_id: str, email: str, *, starts_at: str) -> Key:
    return {"gsi2pk": f"{STAFF_PREFIX}{email}", "gsi2sk": f"{starts_at}#{event_id}"}


def staff_partition(email: str) -> str:
    return f"{STAFF_PREFIX}{email}"


def gate_key(event_id: str, gate_id: str) -> Key:
    return {"pk": event_partition(event_id), "sk": f"{GATE_PREFIX}{gate_id}"}


def scans_partition(event_id: str) -> str:
    return f"SCANS#{event_id}"


def scan_key(event_id: str, nonce: str) -> Key:
    return {"pk": scans_partition(event_id), "sk": f"{SCAN_PREFIX}{nonce}"}


def scan_issue_key(event_id: str, at: str, nonce: str) -> Key:
    return {"pk": scans_partition(event_id), "sk": f"{ISSUE_PREFIX}{at}#{nonce}"}


def signing_key_key(event_id: str, key_id: str) -> Key:
    """One of an event's sealed ticket-signing keys (docs/decisions/0064): off the event's
    partition, so that the public reads of an event never carry its key ciphertext."""
    return {"pk": f"SIGNINGKEY#{event_id}", "sk": f"KEY#{key_id}"}


# The waiting list (docs/decisions/0051): a line per ticket type, its entries in join order, one
# guard per person and type, and an item per offer.
ENTRY_PREFIX = "ENTRY#"
PERSON_PREFIX = "PERSON#"
WAITING_INDEX = "gsi2"
"""gsi2 also lists a person's waiting-list entries (``WAITING#<email>`` / ``<joined_at>#<id>``)."""


def line_partition(event_id: str, ticket_type_id: str) -> str:
    return f"WAITLIST#{event_id}#{ticket_type_id}"


def entry_sort_key(joined_at: str, entry_id: str) -> str:
    """Join time, then a random id: the line's order is the sort key's."""
    return f"{ENTRY_PREFIX}{joined_at}#{entry_id}"


def entry_key(event_id: str, ticket_type_id: str, entry_sk: str) -> Key:
    return {"pk": line_partition(event_id, ticket_type_id), "sk": entry_sk}


def guard_key(event_id: str, ticket_type_id: str, person: str) -> Key:
    return {"pk": line_partition(event_id, ticket_type_id), "sk": f"{PERSON_PREFIX}{person}"}


def waiting_partition(person: str) -> str:
    return f"WAITING#{person}"


def entry_index_keys(person: str, *, joined_at: str, entry_id: str) -> Key:
    return {"gsi2pk": waiting_partition(person), "gsi2sk": f"{joined_at}#{entry_id}"}


def offer_key(offer_id: str) -> Key:
    return {"pk": f"OFFER#{offer_id}", "sk": META}


def offer_execution_name(offer_id: str) -> str:
    """The offer timer's execution name: one execution per offer, however often it is started."""
    return f"offer-{offer_id}"


# IdentityTable -------------------------------------------------------------------------------


def subscription_key(email: str) -> Key:
    return {"pk": f"SUB#{email}", "sk": META}


def code_key(email: str) -> Key:
    return {"pk": f"OTP#{email}", "sk": "CODE"}


def used_id_token_key(fingerprint: str) -> Key:
    """An identity provider's ID token that was exchanged once (``/verify-id-token``)."""
    return {"pk": f"IDTOKEN#{fingerprint}", "sk": "USED"}


def sends_key(email: str) -> Key:
    return {"pk": f"OTP#{email}", "sk": "SENDS"}


def code_tries_key(email: str) -> Key:
    """The times of an address's code tries in the last 30 days (the cumulative bound)."""
    return {"pk": f"OTP#{email}", "sk": "TRIES"}


def sign_in_browser_key(email: str, browser_hash: str) -> Key:
    """A browser that asked for sign-in mail for the address (SHA-256 of its nonce)."""
    return {"pk": f"OTP#{email}", "sk": f"BROWSER#{browser_hash}"}


def sign_in_link_key(token_hash: str) -> Key:
    """A sign-in link, found by the SHA-256 of its token (the token itself is never stored)."""
    return {"pk": f"LINK#{token_hash}", "sk": META}


# A person's sessions share one partition (docs/decisions/0046): each session's item, and the
# "sessions valid after" mark that ends them all at once. The authorizer may read and touch
# only keys under this prefix (the template's ``dynamodb:LeadingKeys`` condition).
SESSIONS_PREFIX = "SESSIONS#"
SESSION_SORT_PREFIX = "SESSION#"
VALID_AFTER = "VALID_AFTER"


def person_sessions_partition(email: str) -> str:
    return f"{SESSIONS_PREFIX}{email}"


def session_key(email: str, session_id: str) -> Key:
    return {"pk": person_sessions_partition(email), "sk": f"{SESSION_SORT_PREFIX}{session_id}"}


def sessions_valid_after_key(email: str) -> Key:
    return {"pk": person_sessions_partition(email), "sk": VALID_AFTER}


# ActivityTable -------------------------------------------------------------------------------
ACTIVITY_INDEX = "gsi1"


def user_activity_partition(email: str) -> str:
    return f"USER#{email}"


def client_activity_partition(client_id: str) -> str:
    return f"ANON#{client_id}"


def event_activity_partition(event_id: str) -> str:
    return f"EVENT#{event_id}"


def type_activity_partition(activity_type: str) -> str:
    return f"TYPE#{activity_type}"


def low_level(key: Key) -> dict[str, dict[str, str]]:
    """A key in the low-level client's typed form (``{"pk": {"S": ...}}``)."""
    return {name: {"S": value} for name, value in key.items()}


# The waiting room (docs/decisions/0072). The queue's settings and frontier live in one item
# read (cached) by every status call and written once per control period; everything written
# per person or per sale is spread over partitions of its own.
QUEUE_DRAW_CHUNK_PREFIX = "CHUNK#"


def queue_key(event_id: str) -> Key:
    return {"pk": f"QUEUE#{event_id}", "sk": "CONFIG"}


def queue_person_key(event_id: str, person: str) -> Key:
    """A person's one entry in an event's queue (joining twice finds it)."""
    return {"pk": f"QUEUEPERSON#{event_id}#{person}", "sk": "ENTRY"}


def queue_pool_partition(event_id: str, shard: int) -> str:
    """Entries that joined before the opening, spread over the queue's shards."""
    return f"QUEUEPOOL#{event_id}#{shard}"


def queue_pool_key(event_id: str, shard: int, entry_id: str) -> Key:
    return {"pk": queue_pool_partition(event_id, shard), "sk": f"ENTRY#{entry_id}"}


def queue_counter_key(event_id: str, shard: int) -> Key:
    """One of the arrival counters: an arrival takes the next number of a random shard."""
    return {"pk": f"QUEUESEQ#{event_id}#{shard}", "sk": "COUNTER"}


def queue_draw_partition(event_id: str) -> str:
    """The draw's order in chunks, each sorted under its first entry's order key."""
    return f"QUEUEDRAW#{event_id}"


def queue_draw_key(event_id: str, first_order_key: str) -> Key:
    return {
        "pk": queue_draw_partition(event_id),
        "sk": f"{QUEUE_DRAW_CHUNK_PREFIX}{first_order_key}",
    }


def queue_health_key(event_id: str, shard: int, window: int) -> Key:
    """What create-ticket experienced for a queued event in one control window, per shard."""
    return {"pk": f"QUEUEHEALTH#{event_id}#{shard}", "sk": f"W#{window:012d}"}
