"""The variables customer-authored templates see (``rendering.templates`` renders them), read set-at-a-time.

Public API
    ``build_contexts(conn, dialect, messages, timezone=, now=, unsubscribe_url=)``
                                         the variables of a chunk of messages, set at a time (a handful of
                                         queries per chunk, whatever its size)
    ``preview_context(conn, dialect, customer_id, now=, public_url=, …)``   what a message to one customer would see
    ``customer_variables(row, tz)``, ``order_variables(conn, ids, tz)``, ``event_variables(conn, dialect, entries)``

Variables
    ``customer``   external_id, first_name, last_name, middle_name, full_name, email, phone, gender, city,
                   timezone, birthday (a date), registered_at, points, store (its name), store_code, and every
                   custom attribute by its code (``customer.attributes.<code>`` always; ``customer.<code>`` too
                   unless the code is one of the names above)
    ``campaign``   id, name
    ``event``      name, properties (``event.properties.<key>``), occurred_at: the event that started the entry
    ``order``      id (external), kind, status, store, total, placed_at, paid_at, attributes, lines (sku, name,
                   category, quantity, price, amount) — for entries started by an order (and in previews)
    ``context``    the context object the entry was enrolled with (API enrolment)
    ``unsubscribe_url``, ``preferences_url``   links for this message
Date-times arrive in the customer's time zone (the customer's own, else the account's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from tidings.core.dialect import Dialect
from tidings.core.errors import NotFound
from tidings.model.domain_events import ORDER_EVENTS
from tidings.rendering.templates import TemplateContext
from tidings.store import campaigns as campaign_sql
from tidings.store import customers as customer_sql
from tidings.store import events as event_sql
from tidings.store import journeys
from tidings.store import orders as order_sql
from tidings.store.account import load_account


def _number(value: Decimal | int | float | None) -> int | float | None:
    """Liquid's maths works on int and float; a whole amount shows without decimals."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def zone(name: str | None, fallback: tzinfo) -> tzinfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(tz)


#: The columns of ``customers`` the ``customer`` object is made of, in the order ``_customer`` takes them.
_CUSTOMER_COLUMNS = (
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "middle_name",
    "gender",
    "city",
    "timezone",
    "birthday",
    "registered_at",
    "points_balance",
    "store_code",
    "attributes",
)


def customer_variables(row: Mapping[Any, Any], tz: tzinfo = UTC, store_name: str | None = None) -> dict[str, object]:
    """The ``customer`` object of one customer row (a row of ``customers``)."""
    return _customer(tuple(row[name] for name in _CUSTOMER_COLUMNS), tz, store_name)


def _customer(values: Sequence[Any], tz: tzinfo, store_name: str | None) -> dict[str, object]:
    (
        external_id,
        email,
        phone,
        first,
        last,
        middle,
        gender,
        city,
        timezone,
        birthday,
        registered_at,
        points,
        store,
        attributes,
    ) = values
    attributes = attributes or {}
    return {
        **attributes,  # the system fields below win over a custom code
        "external_id": external_id,
        "email": email,
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "middle_name": middle,
        "full_name": " ".join(part for part in (first, middle, last) if part),
        "gender": gender,
        "city": city,
        "timezone": timezone,
        "birthday": birthday,
        "registered_at": _local(registered_at, tz),
        "points": _number(points),
        "store_code": store,
        "store": store_name or store,
        "attributes": attributes,
    }


def order_variables(conn: Connection, order_ids: Sequence[int], tz: tzinfo = UTC) -> dict[int, dict[str, object]]:
    """The ``order`` object of each order (with its lines), by order id: two queries."""
    if not order_ids:
        return {}
    found: dict[int, dict[str, object]] = {}
    for row in conn.execute(order_sql.orders_by_id(order_ids)).mappings():
        found[row["id"]] = {
            "id": row["external_id"],
            "kind": row["kind"],
            "status": row["status"],
            "store": row["store_code"],
            "total": _number(row["total"]),
            "placed_at": _local(row["placed_at"], tz),
            "paid_at": _local(row["paid_at"], tz),
            "attributes": row["attributes"] or {},
            "lines": [],
        }
    for line in conn.execute(order_sql.lines_with_product_names(list(found))).mappings():
        items = found[line["order_id"]]["lines"]
        assert isinstance(items, list)
        items.append(
            {
                "sku": line["sku"],
                "name": line["name"],
                "category": line["category_code"],
                "quantity": _number(line["quantity"]),
                "price": _number(line["price"]),
                "amount": _number(line["amount"]),
            }
        )
    return found


@dataclass(frozen=True, slots=True)
class MessageRef:
    """What ``build_contexts`` needs to know of a message."""

    message_id: int
    customer_id: int
    campaign_id: int | None = None
    entry_id: int | None = None


@dataclass(frozen=True, slots=True)
class EntryRef:
    """An entry whose messages are being rendered, as trigger variable loaders see it."""

    id: int
    event_id: int | None
    context: Mapping[str, object] | None
    timezone: tzinfo  # the customer's: date-times are shown in it


#: A trigger's variables for the entries of a chunk, by entry id, set at a time (one query per chunk, not per entry).
#: A trigger kind that starts entries from something of its own (an order, a poll answer) adds its loader here.
TriggerVariables = Callable[[Connection, Dialect, Sequence[EntryRef]], Mapping[int, Mapping[str, object]]]


def event_variables(conn: Connection, dialect: Dialect, found: Sequence[EntryRef]) -> dict[int, dict[str, object]]:
    """``event`` for entries started by an event and, when the event names an order (``order`` and ``kind``
    properties, as the order and receipt events of ``model.domain_events`` do), ``order``: the order as it is stored
    now. One query for the events; orders cost two more per customer time zone in the chunk, only when named."""
    by_event: dict[int, list[EntryRef]] = {}
    for entry in found:
        if entry.event_id is not None:
            by_event.setdefault(entry.event_id, []).append(entry)
    if not by_event:
        return {}
    variables: dict[int, dict[str, object]] = {}
    named: dict[tuple[str, str], list[EntryRef]] = {}
    for row in conn.execute(event_sql.events_by_id(dialect, list(by_event))).all():
        properties = row.properties or {}
        for entry in by_event[row.id]:
            event = {
                "name": row.name,
                "properties": properties,
                "occurred_at": _local(row.occurred_at, entry.timezone),
            }
            variables[entry.id] = {"event": event}
        order, kind = properties.get("order"), properties.get("kind")
        if row.name in ORDER_EVENTS and isinstance(order, str) and kind in ("order", "receipt"):
            named.setdefault((kind, order), []).extend(by_event[row.id])
    if named:
        _add_orders(conn, named, variables)
    return variables


def _add_orders(
    conn: Connection, named: Mapping[tuple[str, str], list[EntryRef]], variables: dict[int, dict[str, object]]
) -> None:
    ids = order_sql.order_ids(conn, named)  # type: ignore[arg-type]
    by_zone: dict[tzinfo, list[tuple[EntryRef, int]]] = {}  # orders are shown in each customer's zone
    for key, entries in named.items():
        if key in ids:
            for entry in entries:
                by_zone.setdefault(entry.timezone, []).append((entry, ids[key]))
    for tz, pairs in by_zone.items():
        shown = order_variables(conn, sorted({order_id for _, order_id in pairs}), tz)
        for entry, order_id in pairs:
            variables[entry.id]["order"] = shown[order_id]


TRIGGER_VARIABLES: tuple[TriggerVariables, ...] = (event_variables,)


def build_contexts(
    conn: Connection,
    dialect: Dialect,
    messages: Sequence[MessageRef],
    *,
    timezone: str,
    now: datetime,
    unsubscribe_url: Callable[[int], str],
    preferences_url: Callable[[int], str] | None = None,
) -> dict[int, TemplateContext]:
    """The template context of each message, by message id, in a few queries for the whole chunk. ``timezone`` is
    the account's, for customers without one of their own.

    ``unsubscribe_url(message_id)`` (the tracker's) makes ``{{ unsubscribe_url }}``; ``preferences_url`` makes
    ``{{ preferences_url }}`` and, until there is a preferences page, defaults to the unsubscribe page. A message
    whose customer no longer exists gets no context.
    """
    if not messages:
        return {}
    account_zone = zone(timezone, UTC)
    customer_ids = sorted({message.customer_id for message in messages})
    people = customer_sql.with_store_names(dialect, customer_ids, _CUSTOMER_COLUMNS)
    customer_rows = {row[0]: row for row in conn.execute(people).all()}  # fetched at once, not row by row
    timezone_at = 2 + _CUSTOMER_COLUMNS.index("timezone")
    zones = {customer_id: zone(row[timezone_at], account_zone) for customer_id, row in customer_rows.items()}
    campaign_ids = sorted({message.campaign_id for message in messages if message.campaign_id is not None})
    names: dict[int, str] = {}
    if campaign_ids:
        names = {row.id: row.name for row in conn.execute(campaign_sql.names_of(campaign_ids))}
    trigger = _trigger_variables(conn, dialect, messages, zones)

    contexts: dict[int, TemplateContext] = {}
    people_variables: dict[int, dict[str, object]] = {}
    for message in messages:
        row = customer_rows.get(message.customer_id)
        if row is None:
            continue
        tz = zones[message.customer_id]
        customer = people_variables.get(message.customer_id)
        if customer is None:
            customer = people_variables[message.customer_id] = _customer(row[2:], tz, row[1])
        unsubscribe = unsubscribe_url(message.message_id)  # a signed link: made once when both are the same
        variables: dict[str, object] = {
            "customer": customer,
            "unsubscribe_url": unsubscribe,
            "preferences_url": unsubscribe if preferences_url is None else preferences_url(message.message_id),
        }
        if message.campaign_id is not None:
            variables["campaign"] = {"id": message.campaign_id, "name": names.get(message.campaign_id)}
        if message.entry_id is not None:
            variables.update(trigger.get(message.entry_id, {}))
        contexts[message.message_id] = TemplateContext(variables, tz, now)
    return contexts


def _trigger_variables(
    conn: Connection, dialect: Dialect, messages: Sequence[MessageRef], zones: Mapping[int, tzinfo]
) -> dict[int, dict[str, object]]:
    customer_of = {m.entry_id: m.customer_id for m in messages if m.entry_id is not None and m.customer_id in zones}
    if not customer_of:
        return {}
    rows = conn.execute(journeys.entries_by_id(dialect, sorted(customer_of))).all()
    found = [EntryRef(row.id, row.event_id, row.context, zones[customer_of[row.id]]) for row in rows]
    variables: dict[int, dict[str, object]] = {entry.id: {"context": entry.context or {}} for entry in found}
    for loader in TRIGGER_VARIABLES:
        for entry_id, loaded in loader(conn, dialect, found).items():
            variables[entry_id].update(loaded)
    return variables


def preview_context(
    conn: Connection,
    dialect: Dialect,
    customer_id: int,
    *,
    now: datetime,
    public_url: str,
    campaign_id: int | None = None,
    order: str | None = None,
    event: Mapping[str, Any] | None = None,
    context: Mapping[str, object] | None = None,
) -> TemplateContext:
    """What a message to this customer would see. With a campaign, the trigger variables of the customer's latest
    entry into it; ``order`` (an external id of one of the customer's orders), ``event`` (name, properties,
    occurred_at) and ``context`` stand in for a trigger's. The links are placeholders (``…/unsubscribe/preview``)
    that unsubscribe no one."""
    entry_id: int | None = None
    if campaign_id is not None:
        if conn.execute(campaign_sql.get_campaign(campaign_id)).first() is None:
            raise NotFound(f"campaign {campaign_id} does not exist", details={"campaign_id": campaign_id})
        entry_id = conn.execute(journeys.latest_entry(campaign_id=campaign_id, customer_id=customer_id)).scalar()
    link = f"{public_url.rstrip('/')}/api/v1/unsubscribe/preview"
    ref = MessageRef(0, customer_id, campaign_id, entry_id)
    timezone = load_account(conn).timezone
    found = build_contexts(conn, dialect, [ref], timezone=timezone, now=now, unsubscribe_url=lambda _: link).get(0)
    if found is None:
        raise NotFound(f"customer {customer_id} does not exist", details={"customer_id": customer_id})
    variables = dict(found.variables)
    if order is not None:
        order_id = conn.execute(order_sql.latest_order_id(customer_id=customer_id, external_id=order)).scalar()
        if order_id is None:
            raise NotFound(f"the customer has no order {order!r}", details={"order": order})
        variables["order"] = order_variables(conn, [order_id], found.timezone)[order_id]
    if event is not None:
        occurred_at = event.get("occurred_at") or now
        variables["event"] = {
            "name": event.get("name"),
            "properties": event.get("properties") or {},
            "occurred_at": _local(occurred_at, found.timezone),
        }
    if context is not None:
        variables["context"] = context
    return TemplateContext(variables, found.timezone, now)
