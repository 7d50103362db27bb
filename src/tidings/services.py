"""Wiring: builds the store, clock, runtime, scheduler, delivery and services from one ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass

from tidings.delivery.pipeline import Delivery
from tidings.delivery.providers import EmailProvider, SandboxProvider
from tidings.delivery.tracking import Tracker
from tidings.engine.campaigns import CampaignService
from tidings.engine.clock import Clock, ManualClock, SystemClock
from tidings.engine.documents import DocumentCache
from tidings.engine.manual_clock import ClockAdvancer, default_next_due
from tidings.engine.runtime import DirectRuntime, Runtime
from tidings.engine.scheduler import Scheduler
from tidings.settings import Settings
from tidings.store import messages as message_sql
from tidings.store.database import Database


def email_provider(settings: Settings) -> EmailProvider:
    if settings.email_provider == "smtp":
        from tidings.delivery.smtp import SmtpProvider

        return SmtpProvider(settings)
    return SandboxProvider()


def build_runtime(settings: Settings, db: Database, documents: DocumentCache, clock: Clock) -> Runtime:
    if settings.runtime == "direct":
        return DirectRuntime(db, documents, clock)
    if isinstance(clock, ManualClock):
        raise ValueError("TIDINGS_RUNTIME=dbos needs the system clock; the manual clock runs with the direct runtime")
    from tidings.engine.dbos_runtime import DbosRuntime

    return DbosRuntime(db, documents, clock, settings.database_url)


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    documents: DocumentCache
    campaigns: CampaignService
    delivery: Delivery
    runtime: Runtime
    scheduler: Scheduler

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None, runtime: Runtime | None = None) -> Services:
        db = Database.open(settings.database_url)
        if clock is None:
            clock = ManualClock() if settings.clock == "manual" else SystemClock()
        documents = DocumentCache()
        delivery = Delivery(
            db,
            documents,
            email_provider(settings),
            tracker=Tracker.from_settings(settings),
            chunk_size=settings.delivery_chunk_size,
            lease_seconds=settings.lease_seconds,
        )
        if runtime is None:
            runtime = build_runtime(settings, db, documents, clock)
        scheduler = Scheduler(
            db,
            documents,
            clock,
            runtime,
            delivery,
            chunk_size=settings.chunk_size,
            lease_seconds=settings.lease_seconds,
        )
        return cls(settings, db, clock, documents, CampaignService(db, documents, clock), delivery, runtime, scheduler)

    @property
    def advancer(self) -> ClockAdvancer:
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("the clock can only be advanced with TIDINGS_CLOCK=manual")
        next_due = [*default_next_due(), lambda after: message_sql.next_send_after(after=after)]
        return ClockAdvancer(self.db, self.clock, self.scheduler, next_due)

    def start(self) -> None:
        """Start background parts (the DBOS runtime); call once in a process that runs chunks."""
        start = getattr(self.runtime, "start", None)
        if start is not None:
            start()

    def close(self) -> None:
        stop = getattr(self.runtime, "stop", None)
        if stop is not None and getattr(self.runtime, "_queue", None) is not None:
            stop()
        self.db.dispose()
