"""Refresh filter (§2.2): re-evaluate an upstream Filter customers node's condition as customers arrive here.

The node holds a reference, not a copy: it reads the referenced filter's condition from the campaign document
the customer is in, so editing the filter changes both. Matching customers leave by `yes`, the others by `no`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tidings.actions.filter_customers import FilterConfig, FilterCustomers
from tidings.core.account import AccountSettings
from tidings.core.contracts import Batch, Context, PaletteGroup, Routing, UpstreamReference


class RefreshFilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Refresh filter")
    filter: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Id of a Filter customers node upstream of this one; its current condition is evaluated again.",
    )


class RefreshFilter:
    type: ClassVar[str] = "refresh_filter"
    title: ClassVar[str] = "Refresh filter"
    group: ClassVar[PaletteGroup] = PaletteGroup.FLOW
    config_model = RefreshFilterConfig

    def ports(self, config: RefreshFilterConfig) -> Sequence[str]:
        return ("yes", "no")

    def due_on_arrival(self, config: RefreshFilterConfig, now: datetime, account: AccountSettings) -> datetime:
        return now

    def upstream_references(self, config: RefreshFilterConfig) -> Sequence[UpstreamReference]:
        return (UpstreamReference("filter", config.filter, FilterCustomers.type),)

    def execute(self, batch: Batch, config: RefreshFilterConfig, ctx: Context) -> Routing:
        referenced = ctx.graph.node(config.filter).config
        if not isinstance(referenced, FilterConfig):  # validation refuses such a document; never route on a guess
            raise TypeError(f"refresh_filter {batch.node_id!r}: node {config.filter!r} is not a filter_customers node")
        return _FILTER.execute(batch, referenced, ctx)  # the very same evaluation as the filter itself


_FILTER = FilterCustomers()
