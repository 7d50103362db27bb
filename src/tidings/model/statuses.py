"""The statuses the engine, delivery and loyalty processor write, typed once.

``store.tables`` derives each status column's CHECK constraint from these, so the database refuses a value that
is not listed here.
"""

from __future__ import annotations

from typing import Literal

#: ``entries.status``: an entry is active until its last token leaves the campaign (completed) or the campaign is
#: stopped.
EntryStatus = Literal["active", "completed", "stopped"]

#: ``messages.status``: the delivery pipeline moves a message along ``queued → sending → sent`` (or ``failed``,
#: ``undeliverable``); tracking moves a sent one on to ``delivered → opened → clicked`` or ``bounced`` (the life of
#: a message is drawn in ``store.messages``, the tracking rules in ``store.tracking``).
MessageStatus = Literal[
    "queued", "sending", "sent", "delivered", "opened", "clicked", "bounced", "failed", "undeliverable"
]

#: ``loyalty_requests.status``: pending until the loyalty processor records the program's answer.
LoyaltyRequestStatus = Literal["pending", "done", "failed"]

#: ``email_suppressions.reason``: why an address is no longer sent to (a provider or bounce mailbox said so).
SuppressionReason = Literal["hard_bounce", "complaint"]

#: ``feedback_reports.outcome``: a provider's or bounce mailbox's report that was refused (kept for inspection).
FeedbackOutcome = Literal["refused"]
