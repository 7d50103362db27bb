"""Runtimes run chunks. The unit of work is the same in both: ``advance_chunk`` at a due node."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tidings.core.clock import Clock
from tidings.document.cache import DocumentCache
from tidings.engine.advance import DueNode, advance_chunk
from tidings.store.database import Database


class Runtime(Protocol):
    synchronous: bool

    def submit(self, nodes: Sequence[DueNode], *, limit: int) -> int:
        """Run (or schedule) one chunk of at most ``limit`` customers at each node; return how many chunks ran (or
        were scheduled). A chunk that finds nobody due does nothing."""

    def in_flight(self) -> int:
        """Chunks scheduled and not finished yet (always 0 for a runtime that runs them at once)."""


class DirectRuntime:
    """Runs each chunk at once, in this thread: the manual clock and single-process use, and worker processes that
    share the database (their chunks skip each other's rows)."""

    synchronous = True

    def __init__(self, db: Database, documents: DocumentCache, clock: Clock) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock

    def submit(self, nodes: Sequence[DueNode], *, limit: int) -> int:
        ran = 0
        for node in nodes:
            if advance_chunk(self.db, self.documents, node, self.clock.now(), limit=limit).size:
                ran += 1
        return ran

    def in_flight(self) -> int:
        return 0
