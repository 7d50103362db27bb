"""Segment is changed: the customers who enter a segment — or leave it — at its recomputes enter the campaign
(spec 4.2, "Segment is changed / User segment change").

As for Getting into segment (``getting_into_segment``), only changes between two computations count: the
segment's first computation and the one after its condition is edited are baselines, at which nobody enters or
leaves; a customer deleted from the base does not "leave" into a campaign. The recompute hands the customers to
the campaign's inbox in its own transaction; the engine enters them with the usual re-entry rules.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ConfigDict, Field

from tidings.core.triggers import SegmentChange
from tidings.triggers.getting_into_segment import GettingIntoSegment, GettingIntoSegmentConfig


class SegmentChangedConfig(GettingIntoSegmentConfig):
    model_config = ConfigDict(extra="forbid", title="Segment is changed")
    change: SegmentChange = Field(
        default="entered", description="Enrol the customers who entered the segment, or those who left it."
    )


class SegmentChanged(GettingIntoSegment):
    type: ClassVar[str] = "segment_changed"
    title: ClassVar[str] = "Segment is changed"
    config_model = SegmentChangedConfig

    def segment_change(self, config: GettingIntoSegmentConfig) -> SegmentChange:
        assert isinstance(config, SegmentChangedConfig)
        return config.change
