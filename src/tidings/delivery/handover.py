"""Recording, for a provider that works outside our transactions, which messages it was handed and what it
answered — with group commit.

The pipeline's promise (``delivery.pipeline``, "Exactly once") is that a message is recorded ``sending`` before
it is handed over, and that a sending task's result is recorded before that task is handed its next message.
Kept with one commit per message, a worker could send no faster than its database commits, one after another
(on PostgreSQL a commit waits for the WAL to reach the disk). Here the chunk's database connection lives in a
thread of its own; every hand-over waits for a commit that includes it and every result answered so far, and
hand-overs and results that arrive while a commit is running go together into the next one. With N SMTP
connections or HTTP requests in flight, one commit records up to N results and N hand-overs, and the event loop
keeps sending while the database works.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from tidings.delivery.providers import SendResult

Record = Callable[[Connection, Sequence[SendResult]], None]
#: Marks messages ``sending``; returns the new lease of each one still ours (the others were taken over).
Mark = Callable[[Connection, Sequence[int]], Mapping[int, datetime]]
Release = Callable[[Connection], None]


class Handover:
    """``take(message_id)`` before a message goes to the provider, ``answered(result)`` when its result comes;
    ``record`` writes results and ``mark`` marks messages ``sending`` (returning the new lease of those still
    ours), both inside the commit; ``release`` runs in the last commit, when the chunk is over. A commit that fails
    fails the hand-overs that waited for it; its results stay to be recorded by the next one."""

    def __init__(self, engine: Engine, *, record: Record, mark: Mark, release: Release) -> None:
        self._engine = engine
        self._record = record
        self._mark = mark
        self._release = release
        self._results: list[SendResult] = []
        self._requests: list[tuple[int | None, asyncio.Future[datetime | None]]] = []
        self._committer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-handover")
        self._conn: Connection | None = None

    async def __aenter__(self) -> Self:
        self._conn = await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.connect)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self._committer is not None:
                await asyncio.gather(self._committer, return_exceptions=True)
            await loop.run_in_executor(self._thread, self._finish)
        finally:
            self._thread.shutdown(wait=True)

    def answered(self, result: SendResult) -> None:
        """A result, recorded by the next commit (the one the same task's next ``take`` waits for)."""
        self._results.append(result)

    async def take(self, message_id: int) -> datetime | None:
        """The message's new lease once it is recorded ``sending`` (with every result so far), so it may be handed
        over; None when another worker has taken it over."""
        return await self._request(message_id)

    async def record(self) -> None:
        """Wait until every result answered so far is committed."""
        await self._request(None)

    async def _request(self, message_id: int | None) -> datetime | None:
        future: asyncio.Future[datetime | None] = asyncio.get_running_loop().create_future()
        self._requests.append((message_id, future))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit_while_asked())
        return await future

    async def _commit_while_asked(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._requests:
                await asyncio.sleep(0)  # requests made in this turn of the event loop join this commit
                requests = [(message_id, future) for message_id, future in self._requests if not future.done()]
                self._requests = []  # a cancelled hand-over (its task stopped) is not marked
                results, self._results = self._results, []
                wanted = [message_id for message_id, _ in requests if message_id is not None]
                try:
                    leases = await loop.run_in_executor(self._thread, self._commit, results, wanted)
                except Exception as error:  # the database: the hand-overs of this commit fail with it
                    self._results[:0] = results  # not lost: the next commit, or the last one, records them
                    for _, future in requests:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for message_id, future in requests:
                    if not future.done():
                        future.set_result(None if message_id is None else leases.get(message_id))
        finally:
            self._committer = None

    def _commit(self, results: Sequence[SendResult], wanted: Sequence[int]) -> Mapping[int, datetime]:
        assert self._conn is not None
        with self._conn.begin():
            if results:
                self._record(self._conn, results)
            return self._mark(self._conn, wanted) if wanted else {}

    def _finish(self) -> None:
        if self._conn is None:
            return
        try:
            with self._conn.begin():
                if self._results:
                    self._record(self._conn, self._results)
                    self._results = []
                self._release(self._conn)
        finally:
            self._conn.close()
