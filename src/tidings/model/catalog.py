"""What a campaign document or a condition may refer to, checked at save time.

Validators read the catalog from pydantic's validation context (``context={"catalog": catalog}``). Without a
catalog (offline `tidings campaign validate FILE`) references to declared fields, segments and audiences are
not checked; everything else is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

from tidings.model.conditions import FieldType


@dataclass(frozen=True)
class Catalog:
    custom_fields: Mapping[str, FieldType] = field(default_factory=dict)  # code → type
    segments: frozenset[int] = frozenset()
    audiences: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()  # mailing category codes


def catalog_of(info: ValidationInfo) -> Catalog | None:
    context: Any = info.context
    if isinstance(context, dict):
        found = context.get("catalog")
        return found if isinstance(found, Catalog) else None
    return None


def _known_category(code: str, info: ValidationInfo) -> str:
    catalog = catalog_of(info)
    if catalog is not None and code not in catalog.categories:
        known = ", ".join(sorted(catalog.categories)) or "none yet; create one with POST /api/v1/categories"
        raise ValueError(f"unknown mailing category {code!r}; known categories: {known}")
    return code


#: A mailing category code, checked against the catalog when one is given.
CategoryCode = Annotated[str, AfterValidator(_known_category)]
