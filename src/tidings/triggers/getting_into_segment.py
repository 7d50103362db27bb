"""Getting into segment: customers who joined a segment at its latest recompute enter the campaign.

The segment's recompute (scheduled every ``recompute_minutes``, or requested through the API) compares the new
membership with the stored one and, in the same transaction, hands the newcomers to every active campaign whose
trigger listens to the segment; the engine enters them with the usual re-entry rules.

Who counts as a newcomer: only customers who joined between two computations of the segment. The segment's
first computation (when it is created) and the computation after its condition is edited are baselines: the
customers who already match are members but have not "entered" it, so a campaign listening to a segment never
receives its existing members en masse. A campaign receives the customers who join at the recomputes that
happen while it is active; customers who join while it is paused (or before it is activated) are not kept for
later.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement

from tidings.core.account import AccountSettings
from tidings.core.triggers import SegmentChange
from tidings.model.catalog import catalog_of
from tidings.model.conditions import MAX_ID


class GettingIntoSegmentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Getting into segment")
    segment_id: int = Field(
        ge=1, le=MAX_ID, title="Segment", description="The segment whose newcomers enter, checked at each recompute."
    )

    @field_validator("segment_id")
    @classmethod
    def _segment_exists(cls, value: int, info: ValidationInfo) -> int:
        catalog = catalog_of(info)
        if catalog is not None and value not in catalog.segments:
            raise ValueError(f"segment {value} does not exist; create it with POST /api/v1/segments first")
        return value


class GettingIntoSegment:
    type: ClassVar[str] = "getting_into_segment"
    title: ClassVar[str] = "Getting into segment"
    kind: ClassVar[Literal["segment"]] = "segment"
    config_model = GettingIntoSegmentConfig

    def event_name(self, config: GettingIntoSegmentConfig) -> str | None:
        return None

    def event_matches(self, config: GettingIntoSegmentConfig) -> ColumnElement[bool] | None:
        return None

    def next_fire_at(
        self, config: GettingIntoSegmentConfig, after: datetime, account: AccountSettings
    ) -> datetime | None:
        return None

    def segment_id(self, config: GettingIntoSegmentConfig) -> int:
        return config.segment_id

    def segment_change(self, config: GettingIntoSegmentConfig) -> SegmentChange:
        return "entered"
