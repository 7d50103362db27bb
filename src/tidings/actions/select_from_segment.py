"""Select customers from segment (D11): the incoming customers who are members of the segment now continue.

Membership is the segment's stored membership (``segment_members``) at execution time. When this node is the
only child of a trigger that enters the whole customer base (Date has come, Repeated date), entering takes
the segment's members as its candidates instead — one ``INSERT … SELECT``, the base is never materialised —
and the new tokens pass this node at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import Select

from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing
from tidings.model.catalog import catalog_of
from tidings.model.conditions import MAX_ID
from tidings.store import segments as segment_sql
from tidings.store.journey_rows import probe
from tidings.store.tables import journey_state, segment_members

NOT_IN_SEGMENT = "not_in_segment"
SEGMENT_MISSING = "segment_missing"


class SelectFromSegmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Select customers from segment")
    segment: int = Field(ge=1, le=MAX_ID, description="Id of the segment whose current members continue.")
    mode: Literal["intersect"] = Field(
        default="intersect",
        description="D11: the incoming customers who are members of the segment at execution time continue.",
    )

    @field_validator("segment")
    @classmethod
    def _segment_exists(cls, value: int, info: ValidationInfo) -> int:
        catalog = catalog_of(info)
        if catalog is not None and value not in catalog.segments:
            raise ValueError(f"segment {value} does not exist")
        return value


class SelectFromSegment:
    type: ClassVar[str] = "select_from_segment"
    title: ClassVar[str] = "Select customers from segment"
    group: ClassVar[PaletteGroup] = PaletteGroup.CUSTOMERS
    config_model = SelectFromSegmentConfig

    def ports(self, config: SelectFromSegmentConfig) -> Sequence[str]:
        return ("out",)

    def due_on_arrival(self, config: SelectFromSegmentConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def execute(self, batch: Batch, config: SelectFromSegmentConfig, ctx: Context) -> Routing:
        found = ctx.conn.execute(segment_sql.get_segment(config.segment)).first()
        if found is None:  # deleted after the campaign was saved: say so rather than fail the chunk
            return Routing().drop(SEGMENT_MISSING)
        member = probe(
            segment_members.c.segment_id == config.segment,
            segment_members.c.customer_id == journey_state.c.customer_id,
        )
        return Routing().to("out", member).drop(NOT_IN_SEGMENT)

    def whole_base_candidates(self, config: SelectFromSegmentConfig) -> Select[Any]:
        return segment_sql.member_ids(config.segment)
