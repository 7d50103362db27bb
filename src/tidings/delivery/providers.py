"""The channel-provider contract, the built-in sandbox provider, and helpers every provider shares.

A provider sends the rendered messages of one chunk of one channel. The pipeline hands them over through an
``Outbox`` (an async iterator): taking a message from it is the pipeline's cue to record the message as
``sending``, together with every result the provider has yielded so far, in one commit. So a message is ``sending``
exactly while it may be in a provider's hands, and after a crash only the messages a provider had taken but not
answered are in doubt: one for a provider that sends one at a time, ``concurrency`` for one that keeps several in
flight (SMTP connections, HTTP requests). Every message carries an idempotency key (campaign, entry, node,
message), so a message in doubt is resent under the same key (the SMTP ``Message-ID``, the HTTP ``Idempotency-Key``
header) and a receiver that honours it drops the duplicate.

``transactional`` providers (the sandbox) write inside the pipeline's database transaction instead (the outbox's
``transaction``): their whole chunk commits or rolls back with the statuses, so a crash can neither lose nor repeat
anything, and no message is ever ``sending``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from sqlalchemy import Connection

from tidings.core.delivery import Channel
from tidings.core.dialect import Dialect


@dataclass(frozen=True)
class Outbound(ABC):
    """A message rendered for its recipient, as its channel's provider takes it: one subclass per channel, in the
    channel's ``delivery.channels`` module."""

    message_id: int
    idempotency_key: str

    @abstractmethod
    def stored(self) -> tuple[str | None, str]:
        """(subject, body) recorded on the message once sent: what the recipient got."""


@dataclass(frozen=True)
class SendResult:
    """What became of one message. ``ok`` means the provider accepted it; otherwise ``transient`` failures are
    retried with back-off (after ``retry_after`` seconds at the earliest, when the provider said so) and the
    others fail for good. ``dead_tokens`` are push tokens the provider no longer knows (to deactivate)."""

    message_id: int
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None
    transient: bool = False
    retry_after: float | None = None
    dead_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transaction:
    """The pipeline's open transaction, where a ``transactional`` provider writes, and its database's dialect."""

    conn: Connection
    dialect: Dialect


M = TypeVar("M", bound=Outbound)
Take = Callable[[Any], Awaitable[bool]]


async def _always(_: Any) -> bool:
    return True


class Outbox(Generic[M]):
    """The messages of one chunk, in order, handed to a provider one at a time (``async for m in outbox``).

    Each step may wait: the pipeline paces the provider's rate limit and records the message as ``sending``
    before handing it over. A message someone else has taken meanwhile (its lease ran out and another worker
    claimed it) is skipped. Safe to iterate from several tasks at once.
    """

    def __init__(
        self, messages: Sequence[M], now: datetime, transaction: Transaction | None = None, take: Take = _always
    ):
        self.now = now
        #: The pipeline's open transaction, for ``transactional`` providers only.
        self.transaction = transaction
        self._messages = messages
        self._take = take
        self._next = 0

    @property
    def drained(self) -> bool:
        """Whether every message has been handed over (or skipped)."""
        return self._next >= len(self._messages)

    async def next(self) -> M | None:
        """The next message, or None when the outbox is empty."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return None

    def __aiter__(self) -> Outbox[M]:
        return self

    async def __anext__(self) -> M:
        while self._next < len(self._messages):  # tasks of one event loop: nothing runs between test and step
            message = self._messages[self._next]
            self._next += 1
            if await self._take(message):  # other tasks take the next messages meanwhile
                return message
        raise StopAsyncIteration


class ChannelProvider(Protocol[M]):
    """One channel's way out. ``name`` is recorded on each message (``messages.provider``) and names the
    provider in delivery-report webhooks; ``concurrency`` is how many messages it keeps in flight at once."""

    name: str
    channel: Channel
    concurrency: int
    transactional: bool

    def send(self, outbox: Outbox[M]) -> AsyncGenerator[SendResult, None]:
        """Send the messages taken from ``outbox`` (an async generator: closing it early stops the sending),
        yielding one result per message taken, as soon as it is known, and taking no more than ``concurrency``
        messages ahead of the results yielded. A failure of one message is a result, never an exception; a provider
        that cannot go on yields a transient failure for each message left in the outbox."""
        ...


async def in_parallel(
    outbox: Outbox[M], concurrency: int, send_one: Callable[[M], Awaitable[SendResult]]
) -> AsyncGenerator[SendResult, None]:
    """Run ``send_one`` on up to ``concurrency`` messages at once, keeping the ``ChannelProvider.send`` promise:
    a task takes its next message only after its last result was handed on. ``send_one`` should turn every
    failure into a result; an exception escaping it becomes a transient failure (the outcome is unknown, so
    the message is retried under the same idempotency key). An error of the outbox itself (the database)
    stops every task and propagates."""
    queue: asyncio.Queue[tuple[SendResult, asyncio.Event] | BaseException | None] = asyncio.Queue()

    async def work() -> None:
        try:
            async for message in outbox:
                try:
                    result = await send_one(message)
                except Exception as error:
                    result = SendResult(message.message_id, False, error=describe(error), transient=True)
                handed_on = asyncio.Event()
                await queue.put((result, handed_on))
                await handed_on.wait()
        except Exception as error:
            await queue.put(error)
        else:
            await queue.put(None)

    tasks = [asyncio.create_task(work()) for _ in range(max(1, concurrency))]
    running = len(tasks)
    try:
        while running:
            item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                result, handed_on = item
                yield result
                handed_on.set()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to completion from synchronous code, even when called under a running event loop
    (sync code inside async code cannot re-enter that loop, so it gets a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: a worker thread or the scheduler, no loop of its own
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tidings-delivery") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def send_all(provider: ChannelProvider[M], messages: Sequence[M], now: datetime) -> list[SendResult]:
    """Send a whole batch and collect the results (tools and tests; the pipeline records as it goes)."""

    async def collect() -> list[SendResult]:
        return [result async for result in provider.send(Outbox(messages, now))]

    results: list[SendResult] = run_sync(collect())
    return results


#: What the sandbox does with a chunk's messages besides recording them sent, in the delivery transaction: one
#: statement for the chunk, whatever its size.
Keep: TypeAlias = Callable[[Transaction, Sequence[M], datetime], None]


class SandboxProvider(Generic[M]):
    """The default for every channel: nothing leaves the machine. A message is its row, recorded ``sent`` with its
    rendered text (`GET /api/v1/messages`); a channel may ``keep`` more (e-mails land in the built-in mailbox,
    `GET /api/v1/mailbox`)."""

    name = "sandbox"
    concurrency = 1
    transactional = True

    def __init__(self, channel: Channel, keep: Keep[M] | None = None) -> None:
        self.channel: Channel = channel
        self.keep = keep

    async def send(self, outbox: Outbox[M]) -> AsyncGenerator[SendResult, None]:
        batch = [message async for message in outbox]
        if batch and self.keep is not None:
            assert outbox.transaction is not None, "the sandbox writes inside the delivery transaction"
            self.keep(outbox.transaction, batch, outbox.now)
        for message in batch:
            yield SendResult(message.message_id, True, provider_message_id=message.idempotency_key)
