"""What a campaign document or a condition may refer to, checked at save time.

Validators read the catalog from pydantic's validation context (``context={"catalog": catalog}``). Without a
catalog (offline `tidings campaign validate FILE`) references to declared fields, segments and audiences are
not checked; everything else is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationInfo

from tidings.model.conditions import FieldType


@dataclass(frozen=True)
class Catalog:
    custom_fields: Mapping[str, FieldType] = field(default_factory=dict)  # code → type
    segments: frozenset[int] = frozenset()
    audiences: frozenset[int] = frozenset()


def catalog_of(info: ValidationInfo) -> Catalog | None:
    context: Any = info.context
    if isinstance(context, dict):
        found = context.get("catalog")
        return found if isinstance(found, Catalog) else None
    return None
