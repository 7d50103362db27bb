"""Where customers go when they arrive at a node: its first processing time."""

from __future__ import annotations

from datetime import datetime

from tidings.core.account import AccountSettings
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS


def due_on_arrival(document: CampaignDocument, node_id: str, now: datetime, account: AccountSettings) -> datetime:
    node = document.node(node_id)
    return ACTIONS[node.type].due_on_arrival(node.config, now, account)
