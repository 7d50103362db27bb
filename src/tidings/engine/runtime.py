"""Runtimes execute claimed chunks. The unit of work is the same in both: ``advance_chunk``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tidings.core.clock import Clock
from tidings.document.cache import DocumentCache
from tidings.engine.advance import advance_chunk
from tidings.store.database import Database


class Runtime(Protocol):
    synchronous: bool

    def submit(self, claim_ids: Sequence[str]) -> None:
        """Run (or schedule) the given chunks. A chunk run twice is a no-op the second time."""


class DirectRuntime:
    """Runs each chunk at once, in this thread: the manual clock and single-process use."""

    synchronous = True

    def __init__(self, db: Database, documents: DocumentCache, clock: Clock) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock

    def submit(self, claim_ids: Sequence[str]) -> None:
        for claim_id in claim_ids:
            advance_chunk(self.db, self.documents, claim_id, self.clock.now())
