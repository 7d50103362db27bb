"""The condition language: one JSON tree used by filters (and later segments and triggers).

    {"all": [...]} | {"any": [...]} | {"not": {...}}
    {"field": "city", "op": "equals", "value": "Riga"}
    {"subscription": {"channel": "email", "category": "news"}, "op": "subscribed"}

Each leaf kind is one model; the tree is checked here (field exists, operator fits its type, value has the
right shape) so a bad condition is refused when the campaign is saved, naming its path.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

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

_SCALAR_TYPES: dict[FieldType, tuple[type, ...]] = {
    "text": (str,),
    "number": (int, float),
    "date": (date,),
    "datetime": (datetime,),
    "boolean": (bool,),
}

_CONFIG = ConfigDict(extra="forbid")


class FieldCondition(BaseModel):
    """Compare one customer field with a value."""

    model_config = _CONFIG
    field: str = Field(description="Customer field code, e.g. `city` or `birthday`.")
    op: str = Field(description="Operator; which ones apply depends on the field's type.")
    value: Any = Field(default=None, description="Value, list (for `in`), [low, high] (for `between`) or days.")

    @model_validator(mode="after")
    def _fits_field(self) -> FieldCondition:
        kind = CUSTOMER_FIELDS.get(self.field)
        if kind is None:
            raise ValueError(
                f"unknown customer field {self.field!r}; known fields: {', '.join(sorted(CUSTOMER_FIELDS))}"
            )
        shape = OPERATORS[kind].get(self.op)
        if shape is None:
            raise ValueError(
                f"operator {self.op!r} does not apply to {kind} field {self.field!r}; "
                f"use one of: {', '.join(OPERATORS[kind])}"
            )
        self.value = _coerce_value(kind, shape, self.value, self.field, self.op)
        return self


def _coerce_scalar(kind: FieldType, value: Any, where: str) -> Any:
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "datetime" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{where}: {value!r} is not an ISO-8601 date-time") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{where}: {value!r} needs a UTC offset, e.g. 2026-01-31T00:00:00Z")
        return parsed
    if kind == "number" and isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if not isinstance(value, _SCALAR_TYPES[kind]):
        raise ValueError(f"{where}: expected a {kind} value, got {value!r}")
    return value


def _coerce_value(kind: FieldType, shape: str, value: Any, field: str, op: str) -> Any:
    where = f"value of {field} {op}"
    if shape == "none":
        if value is not None:
            raise ValueError(f"{where}: operator {op!r} takes no value")
        return None
    if shape == "days":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
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
        if low > high:
            raise ValueError(f"{where}: low {value[0]!r} is above high {value[1]!r}")
        return [low, high]
    return _coerce_scalar(kind, value, where)


class SubscriptionTarget(BaseModel):
    model_config = _CONFIG
    channel: Literal["email", "sms", "viber", "push", "app"]
    category: str | None = Field(default=None, description="Mailing category code; omit for the channel itself.")


class SubscriptionCondition(BaseModel):
    """Whether the customer may be contacted on a channel (or a category on that channel)."""

    model_config = _CONFIG
    subscription: SubscriptionTarget
    op: Literal["subscribed", "unsubscribed"] = "subscribed"


class AllOf(BaseModel):
    model_config = _CONFIG
    all: list[Condition] = Field(description="Every child holds. An empty list always holds.")


class AnyOf(BaseModel):
    model_config = _CONFIG
    any: list[Condition] = Field(description="At least one child holds. An empty list never holds.")


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    not_: Condition = Field(alias="not")


#: Discriminator tags by the key that identifies each kind; they appear in error paths and are stripped there.
CONDITION_TAGS = {"all": "<all>", "any": "<any>", "not": "<not>", "field": "<field>", "subscription": "<subscription>"}


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, tag in CONDITION_TAGS.items():
            if key in value:
                return tag
        return None
    if isinstance(value, BaseModel):
        kinds = {AllOf: "all", AnyOf: "any", Not: "not", FieldCondition: "field", SubscriptionCondition: "subscription"}
        kind = kinds.get(type(value))
        return CONDITION_TAGS[kind] if kind else None
    return None


Condition = Annotated[
    Annotated[AllOf, Tag(CONDITION_TAGS["all"])]
    | Annotated[AnyOf, Tag(CONDITION_TAGS["any"])]
    | Annotated[Not, Tag(CONDITION_TAGS["not"])]
    | Annotated[FieldCondition, Tag(CONDITION_TAGS["field"])]
    | Annotated[SubscriptionCondition, Tag(CONDITION_TAGS["subscription"])],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message="a condition needs one of the keys: all, any, not, field, subscription",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()
