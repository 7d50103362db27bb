"""Where customers go when they arrive at a node: its first processing time."""

from __future__ import annotations

from datetime import datetime

from tidings.actions.registry import ACTIONS
from tidings.engine.contracts import AccountSettings
from tidings.model.campaign import CampaignDocument


def due_on_arrival(document: CampaignDocument, node_id: str, now: datetime, account: AccountSettings) -> datetime:
    node = document.node(node_id)
    return ACTIONS[node.type].due_on_arrival(node.config, now, account)
