"""Every trigger type, by name."""

from __future__ import annotations

from tidings.triggers.api_enrollment import ApiEnrollment
from tidings.triggers.base import Trigger
from tidings.triggers.date_has_come import DateHasCome
from tidings.triggers.event_occurred import EventOccurred
from tidings.triggers.getting_into_segment import GettingIntoSegment
from tidings.triggers.poll_completed import PollCompleted
from tidings.triggers.repeated_date import RepeatedDate

TRIGGERS: dict[str, Trigger] = {
    trigger.type: trigger
    for trigger in (
        ApiEnrollment(),
        EventOccurred(),
        DateHasCome(),
        RepeatedDate(),
        GettingIntoSegment(),
        PollCompleted(),
    )
}
