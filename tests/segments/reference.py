"""A straightforward Python evaluation of the condition language, one customer at a time.

It states the meaning of every condition a second time, independently of the SQL compiler, so the property
test can check that the compiled SQL selects exactly the customers this selects. It follows SQL's
three-valued logic where the SQL does: a comparison with an unknown value is unknown (``None``), `all` /
`any` combine unknowns like AND / OR, `not` treats unknown as false, and a customer is selected only when
the whole tree is true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tidings.model.conditions import (
    AllOf,
    AnyOf,
    AudienceCondition,
    CampaignCondition,
    EventCondition,
    FieldCondition,
    MessageCondition,
    Not,
    OrdersCondition,
    Period,
    PropertyCondition,
    SegmentCondition,
    SubscriptionCondition,
)

Truth = bool | None


@dataclass
class Line:
    sku: str
    category: str | None
    amount: Decimal


@dataclass
class Order:
    kind: str
    status: str
    store: str | None
    total: Decimal
    placed_at: datetime
    lines: list[Line] = field(default_factory=list)


@dataclass
class Event:
    name: str
    properties: dict[str, Any]
    occurred_at: datetime


@dataclass
class Message:
    campaign_id: int
    node_id: str
    channel: str
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    opened_at: datetime | None = None
    clicked_at: datetime | None = None


@dataclass
class Customer:
    id: int
    fields: dict[str, Any]  # built-in profile fields by name (points_balance as Decimal)
    attributes: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # channel → Y | N (absent: subscribed)
    categories: dict[tuple[str, str], str] = field(default_factory=dict)  # (category code, channel) → Y | N
    audiences: set[int] = field(default_factory=set)
    segments: set[int] = field(default_factory=set)
    orders: list[Order] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    entries: list[tuple[int, datetime]] = field(default_factory=list)  # (campaign id, entered at)


DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def all_of(values: list[Truth]) -> Truth:
    if any(value is False for value in values):
        return False
    return None if any(value is None for value in values) else True


def any_of(values: list[Truth]) -> Truth:
    if any(value is True for value in values):
        return True
    return None if any(value is None for value in values) else False


def compare(value: Any, op: str, target: Any) -> Truth:
    """Number / text comparisons with SQL's NULL rules (``ne`` / ``not_equals`` hold for an unknown value)."""
    if op in ("ne", "not_equals"):
        return True if value is None else value != target
    if value is None:
        return None
    if op in ("eq", "equals"):
        return bool(value == target)
    if op == "lt":
        return bool(value < target)
    if op == "lte":
        return bool(value <= target)
    if op == "gt":
        return bool(value > target)
    if op == "gte":
        return bool(value >= target)
    if op == "between":
        return bool(target[0] <= value <= target[1])
    if op == "contains":
        return target in value
    if op == "starts_with":
        return bool(value.startswith(target))
    if op == "in":
        return value in target
    raise ValueError(op)


def number_of(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str) and DECIMAL.fullmatch(value):
        return float(value)
    return None


def instant_of(text: str) -> datetime | None:
    """The instant of an ISO date-time attribute; an impossible day rolls over as calendar arithmetic does."""
    found = DATETIME.fullmatch(text)
    if not found:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        year, month, day, hour, minute, second = (int(found.group(n)) for n in range(1, 7))
        fraction = int(((found.group(7) or ".")[1:] + "000000")[:6])
        zone = found.group(8)
        offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (-1 if zone[0] == "-" else 1)
        shifted = year - (1 if month <= 2 else 0)
        era, year_of_era = divmod(shifted, 400)
        day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
        days = era * 146097 + year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year - 719468
        seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset * 60
        return EPOCH + timedelta(seconds=seconds, microseconds=fraction)


def attribute(customer: Customer, code: str, kind: str) -> Any:
    value = customer.attributes.get(code)
    if kind == "number":
        return number_of(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    if kind == "date":
        return value if DATE.fullmatch(value) else None
    if kind == "datetime":
        return instant_of(value)
    return value


def property_holds(condition: PropertyCondition, properties: dict[str, Any]) -> bool:
    """The event_occurred trigger's property condition (unknown counts as false: it filters event rows)."""
    raw = properties.get(condition.property)
    text = None if raw is None else (raw if isinstance(raw, str) else str(raw))
    number = number_of(raw)
    target: Any = condition.value
    if condition.op == "exists":
        return text is not None
    if condition.op == "not_exists":
        return text is None
    if condition.op == "in":
        texts = [item for item in target if isinstance(item, str)]
        numbers = [item for item in target if not isinstance(item, str)]
        return (text is not None and text in texts) or (number is not None and number in numbers)
    if condition.op == "contains":
        return text is not None and target in text
    typed: Any
    if isinstance(target, bool):
        typed = raw if isinstance(raw, bool) else None
    elif isinstance(target, (int, float)):
        typed = number
    else:
        typed = text
    return compare(typed, condition.op.replace("not_equals", "ne").replace("equals", "eq"), target) is True


class Reference:
    def __init__(self, now: datetime, timezone: str, categories: set[str] | None = None) -> None:
        self.now = now
        self.zone = ZoneInfo(timezone)
        self.today = now.astimezone(self.zone).date()
        self.categories = categories  # codes of existing mailing categories (None: any code exists)

    def selects(self, condition: Any, customer: Customer) -> bool:
        return self.holds(condition, customer) is True

    def holds(self, condition: Any, customer: Customer) -> Truth:
        if isinstance(condition, AllOf):
            return all_of([self.holds(child, customer) for child in condition.all])
        if isinstance(condition, AnyOf):
            return any_of([self.holds(child, customer) for child in condition.any])
        if isinstance(condition, Not):
            return self.holds(condition.not_, customer) is not True
        method = getattr(self, "_" + type(condition).__name__)
        result: Truth = method(condition, customer)
        return result

    # -- days ----------------------------------------------------------------------------------------------
    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    def in_days(self, moment: datetime, first: date, last: date) -> bool:
        return self.start_of(first) <= moment < self.start_of(last + timedelta(days=1))

    def in_period(self, moment: datetime, period: Period | None) -> bool:
        if period is None:
            return True
        if period.last_days is not None:
            return self.in_days(moment, self.today - timedelta(days=period.last_days), self.today)
        assert period.between is not None
        return self.in_days(moment, period.between[0], period.between[1])

    def instant(self, moment: datetime | None, op: str, value: Any) -> Truth:
        if op == "empty":
            return moment is None
        if op == "not_empty":
            return moment is not None
        if moment is None:
            return None
        if op == "in_last_days":
            return self.in_days(moment, self.today - timedelta(days=value), self.today)
        if op == "days_ago":
            day = self.today - timedelta(days=value)
            return self.in_days(moment, day, day)
        if op == "before":
            return moment < (value if isinstance(value, datetime) else self.start_of(value))
        if op == "after":
            return moment > value if isinstance(value, datetime) else moment >= self.start_of(value + timedelta(1))
        first, last = value
        if isinstance(first, datetime):
            return first <= moment <= last
        return self.in_days(moment, first, last)

    def calendar(self, day: str | None, op: str, value: Any) -> Truth:
        """Date operators on ISO ``YYYY-MM-DD`` text (which orders like the dates it names)."""
        if op == "empty":
            return day is None
        if op == "not_empty":
            return day is not None
        if day is None:
            return None
        if op == "in_last_days":
            return (self.today - timedelta(days=value)).isoformat() <= day <= self.today.isoformat()
        if op == "days_ago":
            return day == (self.today - timedelta(days=value)).isoformat()
        if op == "day_and_month_today":
            return day[5:10] == self.today.strftime("%m-%d")
        if op == "between":
            return value[0].isoformat() <= day <= value[1].isoformat()
        return {"on": day == value.isoformat(), "before": day < value.isoformat(), "after": day > value.isoformat()}[op]

    # -- leaves ----------------------------------------------------------------------------------------------
    def _FieldCondition(self, cond: FieldCondition, customer: Customer) -> Truth:
        kind = cond.kind
        if cond.attribute:
            value = attribute(customer, cond.attribute, kind)
        else:
            value = customer.fields.get(cond.field)
            if kind == "number" and value is not None:
                value = float(value)
        if kind == "text":
            if cond.op == "empty":
                return value is None or value == ""
            if cond.op == "not_empty":
                return not (value is None or value == "")
            return compare(value, cond.op, cond.value)
        if kind == "number":
            if cond.op in ("empty", "not_empty"):
                return (value is None) == (cond.op == "empty")
            return compare(value, cond.op, cond.value)
        if kind == "boolean":
            return (value is True) == (cond.op == "is_true")
        if kind == "datetime":
            return self.instant(value, cond.op, cond.value)
        return self.calendar(
            value if value is None or isinstance(value, str) else value.isoformat(), cond.op, cond.value
        )

    def _SubscriptionCondition(self, cond: SubscriptionCondition, customer: Customer) -> Truth:
        target = cond.subscription
        if target.category is None:
            subscribed = customer.channels.get(target.channel) != "N"
        else:
            known = self.categories is None or target.category in self.categories
            subscribed = known and customer.categories.get((target.category, target.channel)) == "Y"
        return subscribed == (cond.op == "subscribed")

    def _AudienceCondition(self, cond: AudienceCondition, customer: Customer) -> Truth:
        return (cond.audience in customer.audiences) == (cond.op == "member")

    def _SegmentCondition(self, cond: SegmentCondition, customer: Customer) -> Truth:
        return (cond.segment in customer.segments) == (cond.op == "member")

    def _OrdersCondition(self, cond: OrdersCondition, customer: Customer) -> Truth:
        spec = cond.orders

        def line_matches(line: Line) -> bool:
            return (spec.product is None or line.sku == spec.product) and (
                spec.category is None or line.category == spec.category
            )

        by_line = spec.product is not None or spec.category is not None
        matching = [
            order
            for order in customer.orders
            if (spec.kind == "any" or order.kind == spec.kind)
            and (spec.status is None or order.status == spec.status)
            and (spec.store is None or order.store == spec.store)
            and self.in_period(order.placed_at, spec.period)
            and (not by_line or any(line_matches(line) for line in order.lines))
        ]
        metric = spec.metric
        if metric in ("first_date", "last_date"):
            moments = [order.placed_at for order in matching]
            moment = (min(moments) if metric == "first_date" else max(moments)) if moments else None
            return self.instant(moment, cond.op, cond.value)
        value: float | None
        if metric == "count":
            value = float(len(matching))
        else:
            amounts = (
                [line.amount for order in matching for line in order.lines if line_matches(line)]
                if by_line
                else [order.total for order in matching]
            )
            cents = sum(round(amount * 100) for amount in amounts)
            if metric == "sum":
                value = float(cents) / 100.0
            else:
                value = float(cents) / (float(len(matching)) * 100.0) if matching else None
        if cond.op in ("empty", "not_empty"):
            return (value is None) == (cond.op == "empty")
        return compare(value, cond.op, cond.value)

    def _EventCondition(self, cond: EventCondition, customer: Customer) -> Truth:
        spec = cond.event
        matching = [
            event.occurred_at
            for event in customer.events
            if event.name == spec.name
            and self.in_period(event.occurred_at, spec.period)
            and all(property_holds(prop, event.properties) for prop in spec.properties)
        ]
        if cond.op == "at_least":
            return len(matching) >= cond.value
        if cond.op == "at_most":
            return len(matching) <= cond.value
        if not matching:
            return False if cond.op == "days_since_last_lte" else None
        days = (self.today - max(matching).astimezone(self.zone).date()).days
        return days >= cond.value if cond.op == "days_since_last_gte" else days <= cond.value

    def _MessageCondition(self, cond: MessageCondition, customer: Customer) -> Truth:
        spec = cond.message

        def moment(message: Message) -> datetime | None:
            if spec.status == "opened":
                return message.opened_at
            if spec.status == "clicked":
                return message.clicked_at
            if message.delivered_at is not None:
                return message.delivered_at
            return message.sent_at if message.channel == "email" else None

        found = any(
            (when := moment(message)) is not None
            and (spec.campaign is None or message.campaign_id == spec.campaign)
            and (spec.node is None or message.node_id == spec.node)
            and (spec.channel is None or message.channel == spec.channel)
            and self.in_period(when, spec.period)
            for message in customer.messages
        )
        return found == (cond.op == "yes")

    def _CampaignCondition(self, cond: CampaignCondition, customer: Customer) -> Truth:
        target = cond.campaign
        found = any(
            campaign_id == target.id and self.in_period(entered_at, target.period)
            for campaign_id, entered_at in customer.entries
        )
        return found == (cond.op == "participated")
