"""Stores, product categories and products as accepted by the API and by bulk import.

Each is upserted by its code (a product by its SKU). Fields left out keep their stored value; ``null`` clears an
optional field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A code as other systems send it: no surrounding spaces, no line breaks.
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
#: A money amount with at most 2 decimal places (``Numeric(18, 2)``).
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Store")
    code: Code = Field(description="The store's code, e.g. `RIX-1`; orders and receipts name their store by it.")
    name: Name
    city: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, description="IANA name, e.g. Europe/Riga.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Riga") from None
        return value


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Product category")
    code: Code = Field(description="The category's code, e.g. `shoes`.")
    name: Name
    parent: Code | None = Field(
        default=None, description="Code of the parent category: it must exist, or come in the same batch."
    )


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Product")
    sku: Code = Field(description="Stock-keeping unit: the product's code, named by order lines.")
    name: Name
    category: Code | None = Field(default=None, description="Category code: the category must exist.")
    price: Money | None = Field(default=None, description="List price.")
