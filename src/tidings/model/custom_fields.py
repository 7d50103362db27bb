"""Typed custom fields: the declaration, and the check of customer attribute values against it.

A customer's custom attributes live in ``customers.attributes`` by field code. Every code must be declared, and
every value must fit the declared type; values are stored in one canonical form, whatever the input spelling:

* text — a JSON string (only a string is accepted);
* number — a JSON number; a string written as a decimal number (``"-12.5"``, as CSV cells are) becomes one;
* boolean — JSON ``true`` / ``false``; the strings true/false, yes/no, y/n, 1/0, on/off become one;
* date — the string ``YYYY-MM-DD``;
* datetime — the UTC instant as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; the input needs a UTC offset.

``null`` removes the attribute (it never holds a value of another type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tidings.model.conditions import FieldType
from tidings.model.customers import CustomerIn

#: Lower-case letters, digits and underscores, starting with a letter: usable as a key in JSON paths,
#: templates (``{{ customer.shoe_size }}``) and conditions (``attributes.shoe_size``) alike.
CODE_PATTERN = r"^[a-z][a-z0-9_]*$"
FIELD_TYPES: tuple[FieldType, ...] = ("text", "number", "date", "datetime", "boolean")

_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_BOOLEAN = TypeAdapter(bool)


class CustomFieldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Custom field")
    code: str = Field(
        min_length=1,
        max_length=64,
        pattern=CODE_PATTERN,
        description="Key in the customer's attributes: a-z, 0-9 and _, starting with a letter (no hyphens).",
    )
    name: str = Field(min_length=1, max_length=200, description="What marketers see, e.g. `Shoe size`.")
    type: FieldType = Field(description="text | number | date | datetime | boolean")


def type_attributes(customer: CustomerIn, declared: Mapping[str, FieldType]) -> tuple[str, str] | None:
    """Put ``customer.attributes`` in canonical form; or say why not as ``(attributes.<code>, message)``."""
    if not customer.attributes:
        return None
    coerced, problem = coerce_attributes(customer.attributes, declared)
    if problem is not None:
        return f"attributes.{problem[0]}", problem[1]
    customer.attributes = coerced
    return None


def coerce_attributes(
    values: Mapping[str, Any], declared: Mapping[str, FieldType]
) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The attributes in canonical form, or the first problem as ``(code, message)``."""
    coerced: dict[str, Any] = {}
    for code, value in values.items():
        kind = declared.get(code)
        if kind is None:
            return {}, (code, f"unknown custom field {code!r}; declare it first with POST /api/v1/custom-fields")
        if value is None:
            continue
        try:
            coerced[code] = coerce_value(kind, value)
        except ValueError as error:
            return {}, (code, str(error))
    return coerced, None


def coerce_value(kind: FieldType, value: Any) -> Any:
    """``value`` in the canonical form of ``kind``; ``ValueError`` (naming what is expected) when it does not fit."""
    if kind == "text":
        if isinstance(value, str):
            return value
        raise ValueError(f"expected text (a JSON string), got {_shown(value)}")
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _DECIMAL.match(value.strip()):
            text = value.strip()
            return float(text) if "." in text else int(text)
        raise ValueError(f"expected a number, got {_shown(value)}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return _BOOLEAN.validate_python(value.strip())
            except ValidationError:
                pass
        raise ValueError(f"expected true or false, got {_shown(value)}")
    if kind == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise ValueError(f"expected a date YYYY-MM-DD, got {_shown(value)}")
    return _instant(value)


def _instant(value: Any) -> str:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                raise ValueError(f"{_shown(value)} needs a UTC offset, e.g. 2026-01-31T10:00:00Z")
            try:
                utc = moment.astimezone(UTC)
            except OverflowError:
                raise ValueError(f"{_shown(value)} is out of range in UTC") from None
            return utc.replace(tzinfo=None).isoformat() + "Z"
    raise ValueError(f"expected an ISO-8601 date-time with a UTC offset, got {_shown(value)}")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"{value[:40]!r}… ({len(value)} characters)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, (int, float)):
        return repr(value)
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__
