"""The condition language: one JSON tree used by filters, segments and triggers.

    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {"field": "city", "op": "equals", "value": "Riga"}
    {"field": "attributes.shoe_size", "op": "gte", "value": 42}
    {"subscription": {"channel": "email", "category": "news"}, "op": "subscribed"}
    {"audience": 3, "op": "member"}                  {"segment": 7, "op": "not_member"}
    {"orders": {"kind": "order", "metric": "count", "period": {"last_days": 30}}, "op": "gte", "value": 2}
    {"event": {"name": "viewed", "properties": [...], "period": {...}}, "op": "at_least", "value": 1}
    {"message": {"campaign": 4, "node": "e1", "status": "opened", "period": {...}}, "op": "yes"}
    {"campaign": {"id": 4, "period": {"last_days": 90}}, "op": "participated"}

Each leaf kind is one model; the tree is checked here (field exists, operator fits its type, value has the
right shape, referenced custom fields, segments and audiences exist) so a bad condition is refused when the
campaign is saved, naming its path. The SQL meaning of every leaf is in ``tidings.segments``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.config import JsonDict

if TYPE_CHECKING:
    from tidings.model.catalog import Catalog

PropertyOp = Literal["equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "in", "exists", "not_exists"]
#: How the editor words each property test and each channel (the stored values stay as they are).
PROPERTY_OP_TITLES: JsonDict = {
    "equals": "Is",
    "not_equals": "Is not",
    "gt": "Is more than",
    "gte": "Is at least",
    "lt": "Is less than",
    "lte": "Is at most",
    "contains": "Contains",
    "in": "Is one of",
    "exists": "Is set",
    "not_exists": "Is not set",
}
CHANNEL_TITLES: JsonDict = {"email": "E-mail", "sms": "SMS", "viber": "Viber", "push": "Push", "app": "In-app"}


# A test on one property of an event; its SQL is ``segments.event_properties`` (no docstring: it would become
# the JSON Schema's description).
class PropertyCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Event property code (no hyphens).")
    op: PropertyOp = Field(
        title="Check",
        json_schema_extra={"x-choice-titles": PROPERTY_OP_TITLES},
        default="equals",
        description="How the property is compared with the value: equal or not, greater or less, contains, one of "
        "a list, present or missing.",
    )
    value: str | float | bool | list[str | float] | None = Field(
        default=None,
        description="What the property is compared with: a text, a number, yes or no, or a list for one of; "
        "leave empty for present or missing.",
    )

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyCondition:
        if self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise ValueError(f"operator {self.op!r} takes no value")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("operator 'in' needs a non-empty list value")
        elif self.op in ("gt", "gte", "lt", "lte"):
            if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
                raise ValueError(f"operator {self.op!r} needs a number value")
        elif self.op == "contains":
            if not isinstance(self.value, str):
                raise ValueError("operator 'contains' needs a text value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"operator {self.op!r} needs a single value")
        return self


FieldType = Literal["text", "number", "date", "datetime", "boolean"]

#: Customer fields usable in conditions, with their types.
CUSTOMER_FIELDS: dict[str, FieldType] = {
    "external_id": "text",
    "email": "text",
    "phone": "text",
    "first_name": "text",
    "last_name": "text",
    "middle_name": "text",
    "gender": "text",
    "city": "text",
    "timezone": "text",
    "store_code": "text",
    "birthday": "date",
    "registered_at": "datetime",
    "points_balance": "number",
}

#: How the editor names each built-in field to a marketer (a custom field by the name it was declared with).
CUSTOMER_FIELD_TITLES: dict[str, str] = {
    "external_id": "Customer id",
    "email": "E-mail",
    "phone": "Phone",
    "first_name": "First name",
    "last_name": "Last name",
    "middle_name": "Middle name",
    "gender": "Gender",
    "city": "City",
    "timezone": "Time zone",
    "store_code": "Store",
    "birthday": "Birthday",
    "registered_at": "Registered",
    "points_balance": "Points balance",
}

#: ``{"field": "attributes.<code>"}`` names a declared custom field (stored in ``customers.attributes``).
ATTRIBUTE_PREFIX = "attributes."
CODE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

#: Operators per field type, with the shape of the value each expects.
OPERATORS: dict[FieldType, dict[str, str]] = {
    "text": {
        "equals": "scalar",
        "not_equals": "scalar",
        "contains": "scalar",
        "starts_with": "scalar",
        "in": "list",
        "empty": "none",
        "not_empty": "none",
    },
    "number": {
        "eq": "scalar",
        "ne": "scalar",
        "lt": "scalar",
        "lte": "scalar",
        "gt": "scalar",
        "gte": "scalar",
        "between": "pair",
        "empty": "none",
        "not_empty": "none",
    },
    "date": {
        "before": "scalar",
        "after": "scalar",
        "on": "scalar",
        "between": "pair",
        "in_last_days": "days",
        "days_ago": "days",
        "day_and_month_today": "none",
        "empty": "none",
        "not_empty": "none",
    },
    "datetime": {
        "before": "scalar",
        "after": "scalar",
        "between": "pair",
        "in_last_days": "days",
        "days_ago": "days",
        "empty": "none",
        "not_empty": "none",
    },
    "boolean": {"is_true": "none", "is_false": "none"},
}

#: How the editor words each operator ("City is one of …", "Birthday in the last … days").
OPERATOR_TITLES: dict[str, str] = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "contains",
    "starts_with": "starts with",
    "in": "is one of",
    "empty": "is empty",
    "not_empty": "is not empty",
    "eq": "is",
    "ne": "is not",
    "lt": "is less than",
    "lte": "is at most",
    "gt": "is more than",
    "gte": "is at least",
    "between": "is between",
    "before": "is before",
    "after": "is after",
    "on": "is on",
    "in_last_days": "is in the last … days",
    "days_ago": "is exactly … days ago",
    "day_and_month_today": "is today (day and month)",
    "is_true": "is yes",
    "is_false": "is no",
}

_SCALAR_TYPES: dict[FieldType, tuple[type, ...]] = {
    "text": (str,),
    "number": (int, float),
    "date": (date,),
    "datetime": (datetime, date),  # a date means that whole day in the account time zone
    "boolean": (bool,),
}

_CONFIG = ConfigDict(extra="forbid")
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

#: Ids are 64-bit on both databases; SQLite cannot even bind a larger number.
MAX_ID = 2**63 - 1
PositiveId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
Days = Annotated[int, Field(strict=True, ge=0, le=36_600)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


def _catalog(info: ValidationInfo) -> Catalog | None:
    from tidings.model.catalog import catalog_of  # the catalog module imports this one

    return catalog_of(info)


# -- customer fields -------------------------------------------------------------------------------------


class FieldCondition(BaseModel):
    """Compare one customer field — built in, or a custom field you declared — with a value."""

    model_config = _CONFIG
    field: str = Field(description="The customer field, e.g. city, birthday or a custom field such as shoe size.")
    op: str = Field(title="Check", description="Operator; which ones apply depends on the field's type.")
    value: Any = Field(default=None, description="The value; a list for “in”, two for “between”, or days.")
    type: FieldType | None = Field(
        default=None,
        description="Type of a custom field, filled in from the declared fields when the condition is saved.",
    )

    @model_validator(mode="after")
    def _fits_field(self, info: ValidationInfo) -> FieldCondition:
        kind = self._kind(_catalog(info))
        shape = OPERATORS[kind].get(self.op)
        if shape is None:
            raise ValueError(
                f"operator {self.op!r} does not apply to {kind} field {self.field!r}; "
                f"use one of: {', '.join(OPERATORS[kind])}"
            )
        self.value = coerce_value(kind, shape, self.value, f"value of {self.field} {self.op}", self.op)
        return self

    def _kind(self, catalog: Catalog | None) -> FieldType:
        if not self.field.startswith(ATTRIBUTE_PREFIX):
            kind = CUSTOMER_FIELDS.get(self.field)
            if kind is None:
                raise ValueError(
                    f"unknown customer field {self.field!r}; known fields: {', '.join(sorted(CUSTOMER_FIELDS))}, "
                    f"or attributes.<code> for a declared custom field"
                )
            if self.type not in (None, kind):
                raise ValueError(f"{self.field!r} is a {kind} field, not {self.type}")
            self.type = None
            return kind
        code = self.attribute
        if not CODE_PATTERN.match(code):
            raise ValueError(f"{self.field!r}: a custom field code is letters, digits and _ (no hyphens)")
        if catalog is not None:
            declared = catalog.custom_fields.get(code)
            if declared is None:
                known = ", ".join(sorted(catalog.custom_fields)) or "none are declared"
                raise ValueError(f"unknown custom field {self.field!r}; declared custom fields: {known}")
            self.type = declared
        elif self.type is None:
            self.type = "text"  # offline, with no declared type recorded: compared as text
        return self.type

    @property
    def attribute(self) -> str:
        """The custom field code (empty for a built-in field)."""
        return self.field.removeprefix(ATTRIBUTE_PREFIX) if self.field.startswith(ATTRIBUTE_PREFIX) else ""

    @property
    def kind(self) -> FieldType:
        return self.type or CUSTOMER_FIELDS[self.field]

    @model_serializer(mode="wrap")
    def _without_empty_type(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("type") is None:
            data.pop("type", None)
        return data


def _coerce_scalar(kind: FieldType, value: Any, where: str) -> Any:
    if kind in ("date", "datetime") and isinstance(value, str) and _DATE_ONLY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "date" and isinstance(value, str):
        raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
    if kind == "datetime" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not an ISO-8601 date-time or a date (YYYY-MM-DD)") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{where}: {value!r} needs a UTC offset, e.g. 2026-01-31T00:00:00Z")
        return parsed
    if kind == "number" and (isinstance(value, bool) or value != value or value in (float("inf"), float("-inf"))):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if kind == "date" and isinstance(value, datetime):
        raise ValueError(f"{where}: expected a date (YYYY-MM-DD), got {value!r}")
    if not isinstance(value, _SCALAR_TYPES[kind]):
        raise ValueError(f"{where}: expected a {kind} value, got {value!r}")
    return value


def coerce_value(kind: FieldType, shape: str, value: Any, where: str, op: str) -> Any:
    """Check ``value`` against the shape an operator expects; dates and date-times are parsed."""
    if shape == "none":
        if value is not None:
            raise ValueError(f"{where}: operator {op!r} takes no value")
        return None
    if shape == "days":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36_600:
            raise ValueError(f"{where}: expected a whole number of days ≥ 0, got {value!r}")
        return value
    if shape == "list":
        if not isinstance(value, list) or not value:
            raise ValueError(f"{where}: expected a non-empty list")
        return [_coerce_scalar(kind, item, where) for item in value]
    if shape == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"{where}: expected [low, high]")
        low, high = (_coerce_scalar(kind, item, where) for item in value)
        if isinstance(low, datetime) != isinstance(high, datetime):
            raise ValueError(f"{where}: give both bounds as dates or both as date-times")
        if low > high:
            raise ValueError(f"{where}: low {value[0]!r} is above high {value[1]!r}")
        return [low, high]
    return _coerce_scalar(kind, value, where)


def _check_op(kind: FieldType, op: str, value: Any, what: str, allowed: dict[str, str]) -> Any:
    shape = allowed.get(op)
    if shape is None:
        raise ValueError(f"operator {op!r} does not apply to {what}; use one of: {', '.join(allowed)}")
    return coerce_value(kind, shape, value, f"value of {what} {op}", op)


# -- subscriptions, audiences, segments ------------------------------------------------------------------


class SubscriptionTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Subscription")
    channel: Literal["email", "sms", "viber", "push", "app"] = Field(
        json_schema_extra={"x-choice-titles": CHANNEL_TITLES},
        description="The channel: e-mail, SMS, Viber, push or in-app.",
    )
    category: str | None = Field(default=None, description="Mailing category code; omit for the channel itself.")


class SubscriptionCondition(BaseModel):
    """Whether the customer may be contacted on a channel (or a category on that channel)."""

    model_config = _CONFIG
    subscription: SubscriptionTarget = Field(description="The channel, and if needed a mailing category on it.")
    op: Literal["subscribed", "unsubscribed"] = Field(
        title="Check", default="subscribed", description="Whether the customer must be subscribed, or unsubscribed."
    )


class AudienceCondition(BaseModel):
    """Membership of a target audience (a static named list)."""

    model_config = _CONFIG
    audience: PositiveId = Field(description="Audience id.")
    op: Literal["member", "not_member"] = Field(
        title="Check", default="member", description="Whether the customer must be in the audience, or not in it."
    )

    @field_validator("audience")
    @classmethod
    def _declared(cls, value: int, info: ValidationInfo) -> int:
        catalog = _catalog(info)
        if catalog is not None and value not in catalog.audiences:
            raise ValueError(f"audience {value} does not exist")
        return value


class SegmentCondition(BaseModel):
    """Membership of a segment as of its last recompute (its stored members)."""

    model_config = _CONFIG
    segment: PositiveId = Field(description="Segment id.")
    op: Literal["member", "not_member"] = Field(
        title="Check", default="member", description="Whether the customer must be in the segment, or not in it."
    )

    @field_validator("segment")
    @classmethod
    def _declared(cls, value: int, info: ValidationInfo) -> int:
        catalog = _catalog(info)
        if catalog is not None and value not in catalog.segments:
            raise ValueError(f"segment {value} does not exist")
        return value


# -- activity: orders, events, messages, campaigns -------------------------------------------------------


class Period(BaseModel):
    """A window of account days: the last N days (today and the N days before it), or two dates inclusive."""

    model_config = _CONFIG
    last_days: Days | None = Field(default=None, description="Today and the N days before it (account time zone).")
    between: list[date] | None = Field(default=None, description="[first day, last day], both included.")

    @model_validator(mode="after")
    def _one_window(self) -> Period:
        if (self.last_days is None) == (self.between is None):
            raise ValueError("a period is either {last_days: N} or {between: [first day, last day]}")
        if self.between is not None:
            if len(self.between) != 2:
                raise ValueError("between: expected [first day, last day]")
            if self.between[0] > self.between[1]:
                raise ValueError(f"between: {self.between[0]} is after {self.between[1]}")
        return self

    @model_serializer(mode="wrap")
    def _one_key(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        return {key: item for key, item in data.items() if item is not None} if isinstance(data, dict) else data


OrderMetric = Literal["count", "sum", "average", "first_date", "last_date"]
#: Operators on an order aggregate. A customer with no matching order has count 0 and sum 0 (never empty);
#: average, first and last date are unknown (NULL), so only `empty` (and `ne`) hold for them.
_COUNT_OPS = {op: shape for op, shape in OPERATORS["number"].items() if op not in ("empty", "not_empty")}
ORDER_OPERATORS: dict[OrderMetric, dict[str, str]] = {
    "count": _COUNT_OPS,
    "sum": _COUNT_OPS,
    "average": OPERATORS["number"],
    "first_date": OPERATORS["datetime"],
    "last_date": OPERATORS["datetime"],
}


class OrdersFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Orders")
    kind: Literal["order", "receipt", "any"] = Field(default="any", description="Orders, receipts or both.")
    metric: OrderMetric = Field(
        description="count of orders, sum / average of their totals (of the matching lines' amounts when a "
        "product or category is given), or the first / last date an order was placed."
    )
    period: Period | None = Field(default=None, description="Only orders placed in this window.")
    product: Code | None = Field(default=None, description="Only orders with a line of this SKU.")
    category: Code | None = Field(default=None, description="Only orders with a line of this product category.")
    store: Code | None = Field(default=None, description="Only orders of this store.")
    status: Literal["created", "paid", "cancelled", "returned"] | None = Field(
        default=None, description="Only orders in this status; omit for every status."
    )


class OrdersCondition(BaseModel):
    """An aggregate over the customer's orders and receipts, compared with a number or a date."""

    model_config = _CONFIG
    orders: OrdersFilter = Field(description="Which orders count, and what is measured about them.")
    op: str = Field(
        title="Check", description="A number operator (count, sum, average) or a date operator (first / last date)."
    )
    value: Any = Field(
        default=None,
        description="What the measure is compared with: a number or a date, a low and a high bound for between, "
        "or a number of days.",
    )

    @model_validator(mode="after")
    def _fits_metric(self) -> OrdersCondition:
        metric = self.orders.metric
        kind: FieldType = "datetime" if metric in ("first_date", "last_date") else "number"
        self.value = _check_op(kind, self.op, self.value, f"orders {metric}", ORDER_OPERATORS[metric])
        return self


class EventFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Events")
    name: str = Field(
        min_length=1, max_length=128, description="Event name as your site sends it, e.g. “viewed product”."
    )
    properties: list[PropertyCondition] = Field(default_factory=list, description="All must hold.")
    period: Period | None = Field(default=None, description="Only events that occurred in this window.")


class EventCondition(BaseModel):
    """How often, or how long ago, the customer had an event. A customer who never had it matches neither
    "at least" nor "at most" so many days since the last one (put the condition under "not" for "never or …")."""

    model_config = _CONFIG
    event: EventFilter = Field(description="Which events count: their name, and if needed properties and a window.")
    op: Literal["at_least", "at_most", "days_since_last_gte", "days_since_last_lte"] = Field(
        title="Check",
        json_schema_extra={
            "x-choice-titles": {
                "at_least": "At least … times",
                "at_most": "At most … times",
                "days_since_last_gte": "At least … days since the last one",
                "days_since_last_lte": "At most … days since the last one",
            }
        },
        description="At least or at most that many events, or at least or at most that many days since the last one.",
    )
    value: Days = Field(description="Number of events, or of days since the last one.")


class MessageFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Messages")
    campaign: PositiveId | None = Field(default=None, description="Campaign id; omit for any campaign.")
    node: str | None = Field(default=None, min_length=1, max_length=64, description="Node id within the campaign.")
    channel: Literal["email", "sms", "viber", "push", "app"] | None = Field(
        json_schema_extra={"x-choice-titles": CHANNEL_TITLES},
        default=None,
        description="Only messages on this channel; omit for any channel.",
    )
    status: Literal["received", "opened", "clicked"] = Field(
        default="received",
        description="received = delivered (for e-mail: sent); opened; clicked. The period applies to that time.",
    )
    period: Period | None = Field(
        default=None, description="Only when the customer received, opened or clicked it in this window."
    )

    @model_validator(mode="after")
    def _node_in_campaign(self) -> MessageFilter:
        if self.node is not None and self.campaign is None:
            raise ValueError("node: a node id is only meaningful within a campaign; give campaign too")
        return self


class MessageCondition(BaseModel):
    """Whether the customer received / opened / clicked a message (of a campaign, node, channel, period)."""

    model_config = _CONFIG
    message: MessageFilter = Field(description="Which message: its campaign, step, channel, what became of it, when.")
    op: Literal["yes", "no"] = Field(
        title="Check", default="yes", description="Yes: the customer did; no: the customer did not."
    )


class CampaignTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Campaign")
    id: PositiveId = Field(description="Campaign id.")
    period: Period | None = Field(default=None, description="Only entries that started in this window.")


class CampaignCondition(BaseModel):
    """Whether the customer entered a campaign (in a period)."""

    model_config = _CONFIG
    campaign: CampaignTarget = Field(description="The campaign, and if needed the window the customer entered it in.")
    op: Literal["participated", "not_participated"] = Field(
        title="Check",
        default="participated",
        description="Whether the customer must have taken part in the campaign, or not.",
    )


# -- the tree --------------------------------------------------------------------------------------------


class AllOf(BaseModel):
    model_config = _CONFIG
    all: list[Condition] = Field(description="Every child holds. An empty list always holds.")


class AnyOf(BaseModel):
    model_config = _CONFIG
    any: list[Condition] = Field(description="At least one child holds. An empty list never holds.")


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    not_: Condition = Field(alias="not", description="The condition that must not hold.")


#: Discriminator tags by the key that identifies each kind; they appear in error paths and are stripped there.
CONDITION_TAGS = {
    "all": "<all>",
    "any": "<any>",
    "not": "<not>",
    "field": "<field>",
    "subscription": "<subscription>",
    "audience": "<audience>",
    "segment": "<segment>",
    "orders": "<orders>",
    "event": "<event>",
    "message": "<message>",
    "campaign": "<campaign>",
}

_MODELS: dict[type[BaseModel], str] = {
    AllOf: "all",
    AnyOf: "any",
    Not: "not",
    FieldCondition: "field",
    SubscriptionCondition: "subscription",
    AudienceCondition: "audience",
    SegmentCondition: "segment",
    OrdersCondition: "orders",
    EventCondition: "event",
    MessageCondition: "message",
    CampaignCondition: "campaign",
}


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in CONDITION_TAGS.items():
            if key in value:
                return tag
        return None
    if isinstance(value, BaseModel):
        kind = _MODELS.get(type(value))
        return CONDITION_TAGS[kind] if kind else None
    return None


Condition = Annotated[
    Annotated[AllOf, Tag(CONDITION_TAGS["all"])]
    | Annotated[AnyOf, Tag(CONDITION_TAGS["any"])]
    | Annotated[Not, Tag(CONDITION_TAGS["not"])]
    | Annotated[FieldCondition, Tag(CONDITION_TAGS["field"])]
    | Annotated[SubscriptionCondition, Tag(CONDITION_TAGS["subscription"])]
    | Annotated[AudienceCondition, Tag(CONDITION_TAGS["audience"])]
    | Annotated[SegmentCondition, Tag(CONDITION_TAGS["segment"])]
    | Annotated[OrdersCondition, Tag(CONDITION_TAGS["orders"])]
    | Annotated[EventCondition, Tag(CONDITION_TAGS["event"])]
    | Annotated[MessageCondition, Tag(CONDITION_TAGS["message"])]
    | Annotated[CampaignCondition, Tag(CONDITION_TAGS["campaign"])],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message=f"a condition needs one of the keys: {', '.join(CONDITION_TAGS)}",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()
