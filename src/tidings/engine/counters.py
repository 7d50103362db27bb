"""Node counters: increments collected during a unit of work and written with one statement."""

from __future__ import annotations

import zlib
from collections import Counter

from sqlalchemy import Connection

from tidings.core.dialect import Dialect
from tidings.core.outcomes import Outcome, counter_names
from tidings.store import journeys

SHARDS = 8


class CounterDelta:
    def __init__(self, campaign_id: int, shard_key: str) -> None:
        self.campaign_id = campaign_id
        self.shard = zlib.crc32(shard_key.encode()) % SHARDS
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, node_id: str, metric: str, amount: int) -> None:
        if amount:
            self.counts[(node_id, metric)] += amount

    def count(self, node_id: str, outcome: Outcome, amount: int) -> None:
        """Add ``amount`` rows leaving ``node_id`` with ``outcome`` to each counter that counts them."""
        for metric in counter_names(outcome):
            self.add(node_id, metric, amount)

    def write(self, conn: Connection, dialect: Dialect) -> None:
        if not self.counts:
            return
        rows = [
            {"campaign_id": self.campaign_id, "node_id": node, "metric": metric, "shard": self.shard, "value": value}
            for (node, metric), value in sorted(self.counts.items())
        ]
        conn.execute(journeys.add_to_counters(dialect), rows)
