"""Orders and receipts with their lines, as accepted by the API and by bulk import.

An order or receipt is upserted by ``(kind, external_id)``: posting it again replaces it, lines included. A line's
amount is ``quantity × price`` rounded to the cent; the total defaults to the sum of the amounts and, when given,
must agree with it within 0.01.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tidings.model.catalog_data import Code, Money

OrderKind = Literal["order", "receipt"]
OrderStatus = Literal["created", "paid", "cancelled", "returned"]
#: What a line's quantity may be: positive, at most 3 decimal places (weighed goods), ``Numeric(18, 3)``.
Quantity = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=3)]

CENT = Decimal("0.01")
#: How far a given total may be from the sum of the lines (rounding in the sender's system).
TOTAL_TOLERANCE = CENT
MAX_LINES = 1_000
#: An order attribute's code, usable in a date trigger's field ``attributes.<code>``.
ATTRIBUTE_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Order line")
    sku: Code = Field(description="The product's SKU; a SKU missing from the catalogue is accepted.")
    quantity: Quantity
    price: Money = Field(description="Price of one unit.")
    category: Code | None = Field(
        default=None,
        description="Product category code (it must exist); defaults to the catalogue category of the SKU.",
    )

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.price).quantize(CENT, rounding=ROUND_HALF_UP)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Order or receipt")
    external_id: str = Field(min_length=1, max_length=128, description="Unique per kind.")
    kind: OrderKind = Field(description="order (e.g. placed online) | receipt (a purchase in a store)")
    customer: str = Field(min_length=1, max_length=128, description="External id of the customer.")
    status: OrderStatus | None = Field(
        default=None, description="created | paid | cancelled | returned; defaults to paid for a receipt, else created."
    )
    store: Code | None = Field(default=None, description="Code of the store (it must exist).")
    placed_at: AwareDatetime = Field(description="When it was placed, ISO-8601 with a UTC offset.")
    paid_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_LINES)
    total: Money | None = Field(default=None, description="Defaults to the sum of the line amounts.")
    attributes: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="Further fields of the order by code (letters, digits, underscores), e.g. "
        '`{"storage_until": "2026-05-20"}`; a date is written `YYYY-MM-DD`, a date-time ISO-8601 with a UTC '
        "offset. Posting the order again replaces them.",
    )

    @field_validator("attributes")
    @classmethod
    def _attribute_codes(cls, value: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
        for code in value:
            if not ATTRIBUTE_CODE.match(code):
                raise ValueError(
                    f"attribute code {code!r} is invalid: use letters, digits and underscores, starting with a "
                    "letter (no hyphens), e.g. storage_until"
                )
        return value

    @field_validator("total")
    @classmethod
    def _total_fits_lines(cls, total: Decimal | None, info: ValidationInfo) -> Decimal | None:
        lines = info.data.get("lines")
        if total is None or lines is None:  # no total, or the lines are invalid (and reported) already
            return total
        lines_total = _sum(lines)
        if abs(total - lines_total) > TOTAL_TOLERANCE:
            raise ValueError(
                f"total {total} does not match the sum of the lines {lines_total} "
                f"(quantity × price, rounded to the cent; they may differ by at most {TOTAL_TOLERANCE})"
            )
        return total

    @model_validator(mode="after")
    def _default_status(self) -> OrderIn:
        if self.status is None:
            self.status = "paid" if self.kind == "receipt" else "created"
        return self

    @property
    def stored_total(self) -> Decimal:
        return self.total if self.total is not None else _sum(self.lines)

    @property
    def stored_status(self) -> OrderStatus:
        return self.status or ("paid" if self.kind == "receipt" else "created")


def _sum(lines: list[OrderLineIn]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))
