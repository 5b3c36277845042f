"""Stock shards (docs/decisions/0070): the items, the plan of a sale over them, the summary of
which shards are known empty, and their sums.

An event sold from ``S > 1`` shards keeps its seats and every type's quota for sale in ``S``
items with their own partition keys (``STOCK#<event_id>#<k>``): ``available`` (seats),
``types`` (type id -> for sale in this shard), ``sold`` and ``types_sold``. A sale takes from
the shards the plan picks, each on the condition that it still has what is taken, so the
shards' sums are exact without any item every sale touches. The event's own seats and type
counters keep what is not contended (capacity, quotas, the waiting list's numbers) and a
*pool* of seats that came back outside any shard (a raised quota, an expired offer), sold last.

The summary (``STOCK`` on the event's partition, so the sale's one read of the event brings it)
lists the shards known empty per need (the seats, each type). A shard enters it only in a
transaction that checks the shard is empty, and leaves it in every transaction that gives the
shard stock back, so "every shard is listed" means sold out, learnt without reading a shard.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from boto3.dynamodb.conditions import Key as KeyCondition
from botocore.exceptions import BotoCoreError, ClientError

from gatepass import clients, clock
from gatepass.dal import layout
from gatepass.dal.transactions import TRANSACTION_ITEMS, transact_once
from gatepass.models.records import SEATS_NEED, EventRecord, StockSummary

EMPTY_PREFIX = "empty_"
REFILL_PREFIX = "refill_"
RESHARD_LEASE_SECONDS = 60
"""How long a split written in several transactions holds the summary at most."""


def split(total: int, parts: int) -> list[int]:
    """``total`` over ``parts`` as evenly as integers allow (the first ones get the rest)."""
    base, rest = divmod(total, parts)
    return [base + (1 if k < rest else 0) for k in range(parts)]


def empty_attribute(need: str) -> str:
    """The summary's attribute listing the shards empty for ``need`` (a number set)."""
    return f"{EMPTY_PREFIX}seats" if need == SEATS_NEED else f"{EMPTY_PREFIX}type_{need}"


def _need_of(attribute: str) -> str:
    rest = attribute[len(EMPTY_PREFIX) :]
    return SEATS_NEED if rest == "seats" else rest.removeprefix("type_")


def shard_item(
    event_id: str,
    shard: int,
    *,
    available: int,
    types: Mapping[str, int],
    starts_at: str,
    status: str,
) -> dict[str, Any]:
    return {
        **layout.stock_shard_key(event_id, shard),
        "entity": "stock_shard",
        "event_id": event_id,
        "shard": shard,
        "available": available,
        "sold": 0,
        "types": dict(types),
        "types_sold": dict.fromkeys(types, 0),
        "starts_at": starts_at,
        "status": status,
        "version": 1,
    }


def shard_items(event: EventRecord, shards: int) -> list[dict[str, Any]]:
    """The ``shards`` items a new event's capacity and quotas are split over."""
    seats = split(event.capacity, shards)
    quotas = {kind.ticket_type_id: split(kind.quota, shards) for kind in event.ticket_types}
    return [
        shard_item(
            event.event_id,
            k,
            available=seats[k],
            types={type_id: split_quota[k] for type_id, split_quota in quotas.items()},
            starts_at=event.starts_at,
            status=event.status,
        )
        for k in range(shards)
    ]


def summary_item(event_id: str, *, shards: int, rate: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        **layout.stock_summary_key(event_id),
        "entity": "stock_summary",
        "event_id": event_id,
        "shards": shards,
        "version": 1,
    }
    if rate is not None:
        item["expected_orders_per_second"] = rate
    return item


def stock_of(
    summary: Mapping[str, Any] | None,
    seats: Mapping[str, Any] | None,
    types: Iterable[Mapping[str, Any]],
) -> StockSummary:
    """The stock summary of an event from the items of its partition."""
    pool = {SEATS_NEED: int((seats or {}).get("available", 0))}
    pool.update({str(t["ticket_type_id"]): int(t.get("available", 0)) for t in types})
    if summary is None:
        return StockSummary(pool=pool)
    empty = {need: frozenset(shards) for need, shards in _listed(summary).items()}
    rate = summary.get("expected_orders_per_second")
    return StockSummary(
        shards=int(summary.get("shards", 1)),
        expected_orders_per_second=None if rate is None else int(rate),
        empty=empty,
        pool=pool,
        version=int(summary.get("version", 0)),
    )


@dataclass(frozen=True)
class ShardTotals:
    """What an event's shards hold, summed."""

    available: int = 0
    sold: int = 0
    types_available: dict[str, int] = field(default_factory=dict)
    types_sold: dict[str, int] = field(default_factory=dict)


def totals(items: Iterable[Mapping[str, Any]]) -> ShardTotals:
    available = sold = 0
    types_available: dict[str, int] = {}
    types_sold: dict[str, int] = {}
    for item in items:
        available += int(item.get("available", 0))
        sold += int(item.get("sold", 0))
        for type_id, value in dict(item.get("types") or {}).items():
            types_available[type_id] = types_available.get(type_id, 0) + int(value)
        for type_id, value in dict(item.get("types_sold") or {}).items():
            types_sold[type_id] = types_sold.get(type_id, 0) + int(value)
    return ShardTotals(available, sold, types_available, types_sold)


def read_shards(client: Any, table_name: str, event_id: str, shards: int) -> list[dict[str, Any]]:
    """Every shard of an event, read consistently (organizer and public reads, never a sale).
    ``client`` is a table resource's client, which takes and gives plain values."""
    keys = [layout.stock_shard_key(event_id, k) for k in range(shards)]
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {
            table_name: {"Keys": keys[start : start + 100], "ConsistentRead": True}
        }
        while pending:
            answer = client.batch_get_item(RequestItems=pending)
            found += list(answer.get("Responses", {}).get(table_name, []))
            pending = answer.get("UnprocessedKeys") or {}
    return sorted(found, key=lambda item: int(item.get("shard", 0)))


# ---------------------------------------------------------------------- planning a sale

POOL: None = None
"""A plan's name for the event's own counters."""


@dataclass
class Plan:
    """Where each need is taken from: shard (or ``POOL``) -> need -> how many, and per need
    the source of each unit in order (so each ticket knows its shards)."""

    takes: dict[int | None, dict[str, int]] = field(default_factory=dict)
    sources: dict[str, list[int | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Shortfall:
    """No plan: ``need`` has only ``left`` where the summary and what was seen say."""

    need: str
    left: int


def plan(
    needs: Mapping[str, int],
    order: list[int | None],
    *,
    empty: Mapping[str, Iterable[int]],
    known: Mapping[int | None, Mapping[str, int]],
) -> Plan | Shortfall:
    """Take each need from the sources in ``order`` (shards in a random order, the pool
    last), skipping shards known empty for it; a source's value is what was seen of it, or
    unlimited when not seen yet. Sharing the order across needs takes an order's seats and
    its types from one shard whenever that shard has them."""
    result = Plan()
    for need, amount in needs.items():
        skip = set(empty.get(need, ()))
        remaining, sources = amount, []
        for source in order:
            if remaining <= 0:
                break
            if source is not None and source in skip:
                continue
            seen = known.get(source, {}).get(need)
            value = math.inf if seen is None else max(0, seen)
            take = int(min(remaining, value))
            if take <= 0:
                continue
            result.takes.setdefault(source, {})[need] = take
            sources += [source] * take
            remaining -= take
        if remaining > 0:
            return Shortfall(need, amount - remaining)
        result.sources[need] = sources
    return result


def shard_take(
    table_name: str, event_id: str, shard: int, takes: Mapping[str, int], *, now: str
) -> dict[str, Any]:
    """A sale's update of one shard: take the seats and type slices planned from it, on the
    condition that it has them and that the event is on sale and not started."""
    names: dict[str, str] = {"#status": "status"}
    values: dict[str, Any] = {":one": 1, ":now": now, ":on_sale": "on_sale"}
    conditions = ["attribute_exists(pk)", "#status = :on_sale", "starts_at > :now"]
    adds = ["version :one"]
    for index, (need, amount) in enumerate(sorted(takes.items())):
        values[f":n{index}"] = amount
        values[f":m{index}"] = -amount
        if need == SEATS_NEED:
            conditions.append(f"available >= :n{index}")
            adds += [f"available :m{index}", f"sold :n{index}"]
        else:
            names[f"#t{index}"] = need
            conditions.append(f"types.#t{index} >= :n{index}")
            adds += [f"types.#t{index} :m{index}", f"types_sold.#t{index} :n{index}"]
    return {
        "Update": {
            "TableName": table_name,
            "Key": layout.stock_shard_key(event_id, shard),
            "ConditionExpression": " AND ".join(conditions),
            "UpdateExpression": "ADD " + ", ".join(adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def read_listed(client: Any, table_name: str, event_id: str) -> dict[str, set[int]]:
    """The summary's empty lists as they are now, eventually consistent (half a read unit):
    what a sale still walking the shards learns from everyone else's marks (a listed shard is
    empty, so a stale answer only lists fewer)."""
    answer = client.get_item(TableName=table_name, Key=layout.stock_summary_key(event_id))
    return _listed(answer.get("Item") or {})


def _listed(summary: Mapping[str, Any]) -> dict[str, set[int]]:
    """A stored summary's empty lists: need -> the shards listed empty for it."""
    return {
        _need_of(name): {int(k) for k in value}
        for name, value in summary.items()
        if name.startswith(EMPTY_PREFIX) and value
    }


def shard_values(item: Mapping[str, Any]) -> dict[str, int]:
    """A shard's stock per need, as a plan reads it."""
    values = {SEATS_NEED: int(item.get("available", 0))}
    values.update({str(t): int(v) for t, v in dict(item.get("types") or {}).items()})
    return values


def read_shard(client: Any, table_name: str, event_id: str, shard: int) -> dict[str, Any] | None:
    """One shard, eventually consistent: what a sale whose transaction on it conflicted looks
    at to learn whether it still has stock (a read does not conflict with transactions). Half
    the read units of a consistent read, on the partition the crowd converges on near sell-out;
    a stale answer costs at most one more try (stock it still shows) or one buyer passing over
    seats given back a moment ago (which ``mark_empty``'s own check keeps off the summary)."""
    answer = client.get_item(TableName=table_name, Key=layout.stock_shard_key(event_id, shard))
    item: dict[str, Any] | None = answer.get("Item")
    return item


def refill_attribute(shard: int) -> str:
    """The summary's count of the times ``shard`` got stock back (the shard keeps the same
    count as ``refills``; both move in the one transaction that gives stock back)."""
    return f"{REFILL_PREFIX}{shard}"


def mark_empty(
    client: Any,
    table_name: str,
    event_id: str,
    shard: int,
    needs: Iterable[str],
    *,
    seen: Mapping[str, Any] | None = None,
) -> bool:
    """List ``shard`` as empty for each of ``needs`` in the summary, so that the summary never
    lists a shard that has stock.

    With ``seen``, the shard as a sale saw it empty (a refusal's old image or a read): one
    plain write on the summary, on the condition that the shard has not got stock back since
    (the summary's refill count for it is still the image's ``refills``; stock only ever comes
    back to a shard in a transaction that moves both counts). Sales near sell-out find shards
    empty by the thousand a second, and writes of one item in transactions run one at a time
    (each holds it), so a mark in a transaction would list about 50 shards a second.

    Without one, a transaction that checks the shard is empty for every need.

    Best effort either way: a refusal (stock came back, or the list already moved), a conflict
    or a throttled write leaves the summary as it was, and the next sale that sees the shard
    empty tries again; the sale that asked goes on either way."""
    wanted = sorted(set(needs))
    if not wanted:
        return True
    names = {f"#e{index}": empty_attribute(need) for index, need in enumerate(wanted)}
    adds = ", ".join([*(f"#e{index} :k" for index in range(len(wanted))), "version :one"])
    if seen is not None:
        refills = int(seen.get("refills", 0))
        names["#r"] = refill_attribute(shard)
        guard = "#r = :r" if refills else "(attribute_not_exists(#r) OR #r = :r)"
        try:
            client.update_item(
                TableName=table_name,
                Key=layout.stock_summary_key(event_id),
                ConditionExpression=f"attribute_exists(pk) AND {guard}",
                UpdateExpression=f"ADD {adds}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":k": {shard}, ":one": 1, ":r": refills},
            )
        except (ClientError, BotoCoreError, clients.StorageUnavailable):
            return False
        return True
    checks: list[str] = []
    type_names: dict[str, str] = {}
    for index, need in enumerate(wanted):
        if need == SEATS_NEED:
            checks.append("available < :one")
        else:
            type_names[f"#t{index}"] = need
            checks.append(f"(attribute_not_exists(types.#t{index}) OR types.#t{index} < :one)")
    items = [
        {
            "ConditionCheck": {
                "TableName": table_name,
                "Key": layout.stock_shard_key(event_id, shard),
                "ConditionExpression": " AND ".join(checks),
                **({"ExpressionAttributeNames": type_names} if type_names else {}),
                "ExpressionAttributeValues": {":one": 1},
            }
        },
        {
            "Update": {
                "TableName": table_name,
                "Key": layout.stock_summary_key(event_id),
                "ConditionExpression": "attribute_exists(pk)",
                "UpdateExpression": f"ADD {adds}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {":k": {shard}, ":one": 1},
            }
        },
    ]
    try:
        return transact_once(client, items) is None
    except clients.StorageUnavailable:
        return False


def empty_needs(
    values: Mapping[str, int], listed: Mapping[str, Iterable[int]], shard: int
) -> list[str]:
    """The needs a shard's stock (``shard_values``) has none of and ``listed`` (the summary's
    empty lists as known) does not list it for yet."""
    return [
        need for need, left in values.items() if left < 1 and shard not in set(listed.get(need, ()))
    ]


def shard_return(
    table_name: str,
    event_id: str,
    shard: int,
    *,
    unsold: Mapping[str, int],
    for_sale: Mapping[str, int],
) -> dict[str, Any]:
    """Give back to a shard what cancelled tickets took from it: ``unsold`` comes off its sold
    counts, ``for_sale`` goes back on sale there (the rest went to a waiting line)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":one": 1}
    adds = ["version :one"]
    for index, need in enumerate(sorted(set(unsold) | set(for_sale))):
        back, sale = unsold.get(need, 0), for_sale.get(need, 0)
        values[f":u{index}"] = -back
        values[f":s{index}"] = sale
        if need == SEATS_NEED:
            adds += [f"sold :u{index}", f"available :s{index}"]
        else:
            names[f"#t{index}"] = need
            adds += [f"types_sold.#t{index} :u{index}", f"types.#t{index} :s{index}"]
    if any(count > 0 for count in for_sale.values()):
        adds.append("refills :one")  # moves with the summary's count (summary_refill)
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": layout.stock_shard_key(event_id, shard),
        "ConditionExpression": "attribute_exists(pk)",
        "UpdateExpression": "ADD " + ", ".join(adds),
        "ExpressionAttributeValues": values,
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


def summary_refill(
    table_name: str, event_id: str, refilled: Mapping[str, Iterable[int]]
) -> dict[str, Any]:
    """Take shards that got stock back off the summary's empty lists and count the refill of
    each (a transaction item in the same transaction as the stock itself, whose shards count
    it too: ``shard_return``)."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {":one": 1}
    deletes = []
    refills = []
    for shard in sorted({k for shards in refilled.values() for k in shards}):
        names[f"#r{shard}"] = refill_attribute(shard)
        refills.append(f"#r{shard} :one")
    for index, (need, shards) in enumerate(sorted(refilled.items())):
        wanted = set(shards)
        if not wanted:
            continue
        names[f"#e{index}"] = empty_attribute(need)
        values[f":k{index}"] = wanted
        deletes.append(f"#e{index} :k{index}")
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": layout.stock_summary_key(event_id),
        "ConditionExpression": "attribute_exists(pk)",
        "UpdateExpression": "ADD "
        + ", ".join(["version :one", *refills])
        + (" DELETE " + ", ".join(deletes) if deletes else ""),
        "ExpressionAttributeValues": values,
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


def shard_count(table: Any, event_id: str) -> int:
    """How many stock shards an event is sold from (1 without a summary): a Query of the
    summary's key, which every function that reads an event may already do."""
    items = table.query(
        KeyConditionExpression=KeyCondition("pk").eq(layout.event_partition(event_id))
        & KeyCondition("sk").eq(layout.STOCK),
        ConsistentRead=True,
    ).get("Items", [])
    return int(items[0].get("shards", 1)) if items else 1


def close_shards(table: Any, event_id: str, *, now: str) -> None:
    """Mark every shard of a cancelled event cancelled, so no shard sells any more."""
    shards = shard_count(table, event_id)
    if shards <= 1:
        return
    for shard in range(shards):
        table.update_item(
            Key=layout.stock_shard_key(event_id, shard),
            ConditionExpression="attribute_exists(pk)",
            UpdateExpression="SET #status = :cancelled, cancelled_at = :now ADD version :one",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":cancelled": "cancelled", ":now": now, ":one": 1},
        )


# ---------------------------------------------------------------------- raising the rate


class StockChangeRefused(Exception):
    """The event's stock changed (or it was cancelled) between the read and the change."""


class StockChanges(Protocol):
    def reshard(self, event_id: str, *, shards: int, rate: int) -> int:
        """Split the event's stock over ``shards`` (when more than now) and record ``rate``;
        answers the shards it is sold from."""


class DynamoStockChanges:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return clients.dynamodb_table(self._table_name)

    def reshard(self, event_id: str, *, shards: int, rate: int) -> int:
        """Every shard (old ones rewritten, new ones put) holds an even share of what is for
        sale in the old shards and the event's own counters, which keep none; each old item on
        the condition that it is as read, so nothing sold meanwhile is lost. Sold counts stay
        on the shard that sold them (tickets record their shard).

        One transaction when it all fits in one (100 items). Otherwise the new shards that do
        not fit are written first, under a lease on the summary (so no other split writes them
        meanwhile), and the transaction that rewrites the old ones and the summary makes them
        count. New shards are put unconditionally: a shard past the summary's count is read by
        nothing, and the summary's condition in the same transaction keeps a split that lost
        the race from writing any. With more old shards than leave room for the event's own
        counters, what those counters hold stays there (sold last, decision 0070)."""
        client = self._table.meta.client
        partition = self._table.query(
            KeyConditionExpression=KeyCondition("pk").eq(layout.event_partition(event_id)),
            ConsistentRead=True,
        ).get("Items", [])
        seats = next((i for i in partition if i.get("sk") == layout.SEATS), None)
        if seats is None:
            raise StockChangeRefused(event_id)
        kinds = [i for i in partition if str(i.get("sk", "")).startswith(layout.TYPE_PREFIX)]
        summary = next((i for i in partition if i.get("sk") == layout.STOCK), None)
        if summary is not None and _leased(summary, now=clock.epoch()):
            raise StockChangeRefused(event_id)  # another split is under way
        old_shards = int((summary or {}).get("shards", 1))
        if shards <= old_shards:
            shards = old_shards
        old = read_shards(client, self._table_name, event_id, old_shards) if old_shards > 1 else []
        # The event's own counters move into the shards when the transaction has room for them.
        moving = [k for k in kinds if int(k.get("available", 0)) > 0]
        pools = len(old) + len(moving) + 2 <= TRANSACTION_ITEMS
        summed = totals(old)
        seats_left = summed.available + (int(seats.get("available", 0)) if pools else 0)
        seat_shares = split(seats_left, shards)
        type_shares = {
            str(k["ticket_type_id"]): split(
                summed.types_available.get(str(k["ticket_type_id"]), 0)
                + (int(k.get("available", 0)) if pools else 0),
                shards,
            )
            for k in kinds
        }
        final: list[dict[str, Any]] = []
        new: list[dict[str, Any]] = []
        if shards > 1:
            for shard in range(shards):
                item = shard_item(
                    event_id,
                    shard,
                    available=seat_shares[shard],
                    types={t: share[shard] for t, share in type_shares.items()},
                    starts_at=str(seats["starts_at"]),
                    status=str(seats.get("status", "on_sale")),
                )
                put: dict[str, Any] = {"TableName": self._table_name, "Item": item}
                if shard < len(old):
                    before = old[shard]
                    item["sold"] = int(before.get("sold", 0))
                    item["types_sold"] = {
                        t: int(dict(before.get("types_sold") or {}).get(t, 0)) for t in type_shares
                    }
                    item["version"] = int(before.get("version", 1)) + 1
                    put["ConditionExpression"] = "version = :v"
                    put["ExpressionAttributeValues"] = {":v": before.get("version", 1)}
                    final.append({"Put": put})
                else:
                    new.append({"Put": put})
            if pools:
                final.append(_emptied(self._table_name, layout.seats_key(event_id), seats))
                final += [
                    _emptied(
                        self._table_name,
                        layout.ticket_type_key(event_id, str(k["ticket_type_id"])),
                        k,
                    )
                    for k in moving
                ]
            else:
                final.append(_unchanged(self._table_name, layout.seats_key(event_id), seats))
        new_summary = summary_item(event_id, shards=shards, rate=rate)
        summary_put: dict[str, Any] = {"TableName": self._table_name, "Item": new_summary}
        final.append({"Put": summary_put})
        room = TRANSACTION_ITEMS - len(final)
        ahead, new = new[: max(0, len(new) - room)], new[max(0, len(new) - room) :]
        final += new
        lease = self._lease(event_id, summary) if ahead else None
        if lease is not None:
            token, summary = lease
        if summary is None:
            summary_put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            new_summary["version"] = int(summary.get("version", 1)) + 1
            summary_put["ConditionExpression"] = "version = :v"
            summary_put["ExpressionAttributeValues"] = {":v": summary.get("version", 1)}
            if lease is not None:
                summary_put["ConditionExpression"] += " AND lease = :lease"
                summary_put["ExpressionAttributeValues"][":lease"] = token
        try:
            for start in range(0, len(ahead), TRANSACTION_ITEMS - 1):
                chunk = ahead[start : start + TRANSACTION_ITEMS - 1]
                if transact_once(client, [self._holding(event_id, token), *chunk]) is not None:
                    raise StockChangeRefused(event_id)
            if transact_once(client, final) is not None:
                raise StockChangeRefused(event_id)
        except StockChangeRefused:
            if lease is not None:
                self._release(event_id, token)
            raise
        return shards

    def _lease(
        self, event_id: str, summary: Mapping[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """Hold the event's summary for a split written in several transactions: its version
        moves (a split that read it before fails) and it names this split until it ends or
        RESHARD_LEASE_SECONDS pass. Answers the token and the summary as now stored."""
        token = secrets.token_hex(8)
        now = clock.epoch()
        held = {**(summary or summary_item(event_id, shards=1, rate=None))}
        held.update(
            lease=token,
            lease_until=now + RESHARD_LEASE_SECONDS,
            version=int(held.get("version", 1)) + (1 if summary is not None else 0),
        )
        put: dict[str, Any] = {"TableName": self._table_name, "Item": held}
        if summary is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": summary.get("version", 1)}
        if transact_once(self._table.meta.client, [{"Put": put}]) is not None:
            raise StockChangeRefused(event_id)
        return token, held

    def _holding(self, event_id: str, token: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table_name,
                "Key": layout.stock_summary_key(event_id),
                "ConditionExpression": "lease = :lease",
                "ExpressionAttributeValues": {":lease": token},
            }
        }

    def _release(self, event_id: str, token: str) -> None:
        """Give the lease up after a failed split (best effort: it runs out anyway)."""
        try:
            self._table.update_item(
                Key=layout.stock_summary_key(event_id),
                UpdateExpression="REMOVE lease, lease_until",
                ConditionExpression="lease = :lease",
                ExpressionAttributeValues={":lease": token},
            )
        except (ClientError, BotoCoreError):
            return


def _leased(summary: Mapping[str, Any], *, now: int) -> bool:
    return "lease" in summary and int(summary.get("lease_until", 0)) > now


def _unchanged(table_name: str, key: layout.Key, read: Mapping[str, Any]) -> dict[str, Any]:
    """An event counter a split leaves alone, checked as read (and the event not cancelled)."""
    return {
        "ConditionCheck": {
            "TableName": table_name,
            "Key": key,
            "ConditionExpression": "version = :v AND #status <> :cancelled",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":v": read.get("version", 1), ":cancelled": "cancelled"},
        }
    }


def _emptied(table_name: str, key: layout.Key, read: Mapping[str, Any]) -> dict[str, Any]:
    """An event counter's stock moved into the shards: on the condition it is as read."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": key,
            "ConditionExpression": "available = :read AND version = :v AND #status <> :cancelled"
            if "status" in read
            else "available = :read AND version = :v",
            "UpdateExpression": "SET available = :zero ADD version :one",
            **({"ExpressionAttributeNames": {"#status": "status"}} if "status" in read else {}),
            "ExpressionAttributeValues": {
                ":read": read.get("available", 0),
                ":v": read.get("version", 1),
                ":zero": 0,
                ":one": 1,
                **({":cancelled": "cancelled"} if "status" in read else {}),
            },
        }
    }
