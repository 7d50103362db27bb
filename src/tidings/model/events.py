"""A customer event as accepted by the API: who, what, when, and its immutable context."""

from __future__ import annotations

import re
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

#: Property codes follow the field-code rule of the spec: letters, digits and underscores, no hyphens.
PROPERTY_CODE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Event")
    customer: str = Field(min_length=1, max_length=128, description="External id of the customer.")
    name: str = Field(min_length=1, max_length=128, description="Event name, e.g. `order_paid`.")
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Event context by property code (letters, digits, underscores; no hyphens).",
    )
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened, ISO-8601 with a UTC offset; defaults to the time received."
    )

    @field_validator("properties")
    @classmethod
    def _codes(cls, value: dict[str, Any]) -> dict[str, Any]:
        for code in value:
            if not PROPERTY_CODE.match(code):
                raise ValueError(
                    f"property code {code!r} is invalid: use letters, digits and underscores, starting with a "
                    "letter or underscore (no hyphens), e.g. order_total"
                )
        return value
