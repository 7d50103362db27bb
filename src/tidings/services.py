"""Wiring: builds the store, clock, runtime, scheduler, delivery and services from one ``Settings``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from tidings.accounts import Accounts, password_hasher
from tidings.core.clock import Clock, ManualClock, SystemClock
from tidings.core.retry import RetryPolicy
from tidings.delivery.channels import build_routes
from tidings.delivery.feedback import FeedbackSource
from tidings.delivery.feedback_sources import build_sources
from tidings.delivery.pipeline import Delivery, Policy
from tidings.delivery.poll_links import PollLinks
from tidings.delivery.tracking import Tracker
from tidings.document.cache import DocumentCache
from tidings.engine.campaigns import CampaignService
from tidings.engine.manual_clock import ClockAdvancer
from tidings.engine.runtime import DirectRuntime, Runtime
from tidings.engine.scheduler import Scheduler
from tidings.loyalty.adapter import LoyaltyAdapter
from tidings.loyalty.processor import LoyaltyProcessor
from tidings.rendering.templates import use_poll_links
from tidings.settings import Settings
from tidings.store.database import Database


def loyalty_adapter(settings: Settings, db: Database) -> LoyaltyAdapter:
    if settings.loyalty_adapter == "http":
        from tidings.loyalty.http import HttpLoyalty

        assert settings.loyalty_url is not None  # checked by Settings
        header = settings.loyalty_auth_header
        return HttpLoyalty(
            settings.loyalty_url,
            auth_header=header.get_secret_value() if header else None,
            timeout=settings.loyalty_timeout_seconds,
            concurrency=settings.loyalty_concurrency,
        )
    from tidings.loyalty.builtin import BuiltinLedger

    return BuiltinLedger(db.dialect)


def loyalty_processor(settings: Settings, db: Database, adapter: LoyaltyAdapter, wall: Clock) -> LoyaltyProcessor:
    # A chunk's calls must end before its lease does, or another worker would send them again (harmless with the
    # idempotency key, but wasted): the lease covers every call of a chunk timing out, twice over.
    rounds = -(-settings.loyalty_chunk_size // settings.loyalty_concurrency)
    return LoyaltyProcessor(
        db,
        adapter,
        retry=RetryPolicy(
            max_attempts=settings.loyalty_max_attempts,
            base=timedelta(seconds=settings.loyalty_retry_base_seconds),
            cap=timedelta(seconds=settings.loyalty_retry_max_seconds),
        ),
        chunk_size=settings.loyalty_chunk_size,
        lease_seconds=max(settings.lease_seconds, 2 * rounds * settings.loyalty_timeout_seconds),
        wall=wall,
    )


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
    loyalty: LoyaltyProcessor
    accounts: Accounts
    feedback: Mapping[str, FeedbackSource]  # provider webhooks reporting bounces and complaints, by name

    @classmethod
    def build(
        cls, settings: Settings, clock: Clock | None = None, runtime: Runtime | None = None, wall: Clock | None = None
    ) -> Services:
        """``wall`` is real time (default: the system clock) for what is about real time whatever ``clock`` is:
        leases (real worker deaths), sessions and sign-in throttling."""
        db = Database.open(settings.database_url)
        if clock is None:
            clock = ManualClock() if settings.clock == "manual" else SystemClock()
        wall = wall or SystemClock()
        documents = DocumentCache()
        use_poll_links(PollLinks.from_settings(settings))  # the poll_link template filter signs with our key
        delivery = Delivery(
            db,
            build_routes(settings),
            rules=documents.delivery_rules,
            tracker=Tracker.from_settings(settings),
            policy=Policy.from_settings(settings),
            wall=wall,
        )
        if runtime is None:
            runtime = build_runtime(settings, db, documents, clock)
        loyalty = loyalty_processor(settings, db, loyalty_adapter(settings, db), wall)
        scheduler = Scheduler(
            db,
            documents,
            clock,
            runtime,
            delivery,
            chunk_size=settings.chunk_size,
            loyalty=loyalty,
        )
        campaigns = CampaignService(db, documents, clock)
        hasher = password_hasher(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        accounts = Accounts(db, wall, timedelta(hours=settings.session_hours), hasher)
        feedback = build_sources(settings)
        return cls(settings, db, clock, documents, campaigns, delivery, runtime, scheduler, loyalty, accounts, feedback)

    @property
    def advancer(self) -> ClockAdvancer:
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("the clock can only be advanced with TIDINGS_CLOCK=manual")
        return ClockAdvancer(self.db, self.clock, self.scheduler)

    def start(self) -> None:
        """Start background parts (the DBOS runtime); call once in a process that runs chunks."""
        start = getattr(self.runtime, "start", None)
        if start is not None:
            start()

    def close(self) -> None:
        stop = getattr(self.runtime, "stop", None)
        if stop is not None and getattr(self.runtime, "_queue", None) is not None:
            stop()
        self.loyalty.adapter.close()
        self.db.dispose()
