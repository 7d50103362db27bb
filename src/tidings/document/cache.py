"""Campaign versions are immutable, so their parsed documents are cached per (campaign, version)."""

from __future__ import annotations

import threading

from sqlalchemy import Connection

from tidings.core.delivery import DeliveryRules
from tidings.core.errors import NotFound
from tidings.document.campaign import CampaignDocument
from tidings.store import campaigns as campaign_sql


class DocumentCache:
    def __init__(self) -> None:
        self._documents: dict[tuple[int, int], CampaignDocument] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, campaign_id: int, version: int) -> CampaignDocument:
        key = (campaign_id, version)
        with self._lock:
            cached = self._documents.get(key)
        if cached is not None:
            return cached
        raw = conn.execute(campaign_sql.get_version(campaign_id, version)).scalar_one_or_none()
        if raw is None:
            raise NotFound(f"campaign {campaign_id} has no version {version}")
        document = CampaignDocument.model_validate(raw)
        with self._lock:
            self._documents[key] = document
        return document

    def delivery_rules(self, conn: Connection, campaign_id: int, version: int, node_id: str) -> DeliveryRules | None:
        """The ``DeliveryRulesOf`` the delivery pipeline is built with: a send node's rules, None for another."""
        return self.get(conn, campaign_id, version).delivery_rules(node_id)

    def forget(self, campaign_id: int, version: int) -> None:
        """Drop a cached draft version that was edited in place."""
        with self._lock:
            self._documents.pop((campaign_id, version), None)
