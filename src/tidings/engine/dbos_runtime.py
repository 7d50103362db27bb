"""The DBOS runtime: each chunk to run becomes a durable workflow on a DBOS queue, so every worker process on
every machine takes chunks from one queue. The workflow's single step is the same unit of work as the direct
runtime, ``advance_chunk`` at a node: one transaction that claims the customers due there and advances them.

A worker killed mid-chunk loses nothing: its transaction rolls back, which releases the rows it had claimed, and
the next chunk at that node — from any worker — takes them again. DBOS' own recovery (same executor id on
restart) may later re-run the old workflow; it advances whoever is due at the node then, exactly as a new chunk.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from dbos import DBOS, SetWorkflowID
from sqlalchemy.engine import make_url

from tidings import __version__
from tidings.core.clock import Clock
from tidings.document.cache import DocumentCache
from tidings.engine.advance import DueNode, advance_chunk
from tidings.store.database import Database

QUEUE_NAME = "tidings-chunks"
POLLING_SECONDS = 0.05  # measured: 1 s polling caps a queue at tens of chunks per second

_active: DbosRuntime | None = None


@DBOS.step()
def _advance_step(campaign_id: int, node_id: str, limit: int) -> None:
    runtime = _active
    if runtime is None:
        raise RuntimeError("the DBOS runtime is not started in this process")
    advance_chunk(runtime.db, runtime.documents, DueNode(campaign_id, node_id), runtime.clock.now(), limit=limit)


@DBOS.workflow()
def advance_chunk_workflow(campaign_id: int, node_id: str, limit: int) -> None:
    _advance_step(campaign_id, node_id, limit)


def system_database_url(app_url: str) -> str:
    """DBOS keeps its state in its own database beside ours: ``<name>_dbos`` or ``<file>.dbos.sqlite``."""
    url = make_url(app_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}.dbos.sqlite"
    plain = url.set(drivername="postgresql", database=f"{url.database}_dbos")
    return plain.render_as_string(hide_password=False)


class DbosRuntime:
    synchronous = False

    def __init__(
        self,
        db: Database,
        documents: DocumentCache,
        clock: Clock,
        database_url: str,
        *,
        worker_concurrency: int = 2,
        consume: bool = True,
    ) -> None:
        self.db = db
        self.documents = documents
        self.clock = clock
        self.database_url = database_url
        self.worker_concurrency = worker_concurrency
        self.consume = consume
        self._queue: Any = None

    def start(self) -> None:
        global _active
        _active = self
        config: Any = {
            "name": "tidings",
            "system_database_url": system_database_url(self.database_url),
            "executor_id": f"{socket.gethostname()}-{os.getpid()}",
            "application_version": __version__,
            "log_level": "WARNING",
        }
        DBOS(config=config)
        DBOS.listen_queues([QUEUE_NAME] if self.consume else [])
        DBOS.launch()
        self._queue = DBOS.register_queue(
            QUEUE_NAME, worker_concurrency=self.worker_concurrency, polling_interval_sec=POLLING_SECONDS
        )
        logging.getLogger("dbos").setLevel(logging.WARNING)

    def submit(self, nodes: Sequence[DueNode], *, limit: int) -> int:
        assert self._queue is not None, "start() the DBOS runtime first"
        for node in nodes:
            with SetWorkflowID(f"chunk-{uuid.uuid4()}"):
                self._queue.enqueue(advance_chunk_workflow, node.campaign_id, node.node_id, limit)
        return len(nodes)

    def in_flight(self) -> int:
        """Chunks on the queue that no worker has finished, from every process."""
        return len(DBOS.list_queued_workflows(queue_name=QUEUE_NAME, load_input=False, load_output=False))

    def stop(self) -> None:
        global _active
        DBOS.destroy()
        _active = None
