"""Poll completed: a customer who submits the poll enters the campaign.

A submission stores the answers and, in the same transaction, a ``poll_completed`` event (properties: ``poll``
= ``POLL-<id>``, ``poll_id`` and the answers by question id); like any event it reaches the trigger inbox of the
active campaigns listening to it. This trigger takes the events of its poll whose customer really answered it,
so an event of that name posted through the events API cannot fake a submission.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, exists

from tidings.core.account import AccountSettings
from tidings.model.conditions import MAX_ID
from tidings.store.polls import POLL_COMPLETED, code_of
from tidings.store.tables import events, poll_responses


class PollCompletedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Poll completed")
    poll: int = Field(ge=1, le=MAX_ID, description="Id of the poll (the number in its code POLL-<id>).")


class PollCompleted:
    type: ClassVar[str] = "poll_completed"
    title: ClassVar[str] = "Poll completed"
    kind: ClassVar[Literal["event"]] = "event"
    config_model = PollCompletedConfig

    def event_name(self, config: PollCompletedConfig) -> str | None:
        return POLL_COMPLETED

    def event_matches(self, config: PollCompletedConfig) -> ColumnElement[bool] | None:
        answered = exists().where(
            poll_responses.c.poll_id == config.poll, poll_responses.c.customer_id == events.c.customer_id
        )
        return and_(events.c.properties["poll"].as_string() == code_of(config.poll), answered)

    def next_fire_at(self, config: PollCompletedConfig, after: datetime, account: AccountSettings) -> datetime | None:
        return None
