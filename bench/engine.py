"""End-to-end engine benchmark: a whole-base campaign on N customers, measured in two halves.

    python -m bench.engine --customers 100000 --db postgres --json
    python -m bench.engine --customers 100000 --db postgres --workers 2 --json

The campaign: ``date_has_come`` (the whole base, D11) → ``filter_customers`` (city ≠ Oslo → yes; `no` has no
edge) → a wait → ``send_email`` (sandbox provider, so delivery writes the built-in mailbox).
The bench creates a fresh database, migrates it, streams N customers in (COPY on PostgreSQL), measures two
baselines in the same run — a raw ``INSERT … SELECT`` of the same N rows and a naive per-customer loop — and
then times the engine from activation until every message is delivered. Counts are checked; a mismatch prints
the result and exits 1.

Without ``--workers`` the engine runs in this process on the manual clock (the wait is 1 day), in two stages:
*movement* — activation until every message is queued — with the scheduler's delivery step held back, then
*delivery* — the held step released and the scheduler ticked until nothing is left. Phases are attributed
without touching engine code: the runtime is a timing ``Runtime`` that calls ``advance_chunk`` (like
``DirectRuntime``; a chunk's time includes its claim, which is part of its transaction), delivery and its
per-chunk method are wrapped on the instance, and the scheduler's ``fire_schedules`` is wrapped for the duration
of the run.

With ``--workers W`` (PostgreSQL) W ``tidings worker`` processes run everything on the system clock, as in
production, chunks and delivery interleaved: the trigger is due at once and the wait is a ``wait_until_date`` on
that moment; the bench activates the campaign and polls until every message is queued, then delivered.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, UniqueConstraint, bindparam, func, or_, select, text

import tidings.engine.scheduler as scheduler_module
from bench.common import (
    PINNED_ENV,
    CpuSample,
    Expected,
    Launch,
    Progress,
    StatementTimer,
    activate_armed,
    add_engine_options,
    checkpoint,
    cpu_between,
    cpu_sample,
    database_name,
    fresh_database,
    install_auto_explain,
    load_average,
    load_customers,
    maintain,
    peak_rss_mb,
    provenance,
    row_versions,
    rss_mb,
    run_pinned,
    table_writes,
    tidings_workers,
    wait_until,
    watch,
)
from tidings.actions.send_email import valid_email
from tidings.core.clock import ManualClock
from tidings.engine.advance import DueNode, advance_chunk
from tidings.services import Services
from tidings.settings import Settings
from tidings.store import journeys
from tidings.store.database import Database
from tidings.store.tables import customers, entries, journey_state, journey_trace, mailbox, messages
from tidings.store.types import BigId

START = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
FIRE_DATE = "2026-11-30"
FIRE_HOUR = 9
FIRE_AT = datetime(2026, 11, 30, FIRE_HOUR, 0, tzinfo=UTC)  # the account time zone is UTC by default
#: The phase of a chunk claimed at each node. A chunk claimed at the wait goes on to send the e-mail in the same
#: transaction (the send is due at once), so "send" counts only chunks claimed at the e-mail node itself.
NODE_PHASE = {"filter": "filter", "wait": "release_and_send", "email": "send"}
PHASES = ("enter", "filter", "release_and_send", "send", "delivery", "other")
#: The manual clock's campaign: fires at FIRE_AT, waits a day.
MANUAL_TRIGGER = {"type": "date_has_come", "config": {"date": FIRE_DATE, "hour": FIRE_HOUR}}
MANUAL_WAIT = {"type": "wait", "config": {"amount": 1, "unit": "days"}}


def campaign_document(trigger: dict[str, Any], wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Benchmark: whole base, filter, wait, e-mail",
        "trigger": {"id": "trigger", **trigger},
        "nodes": [
            {
                "id": "filter",
                "type": "filter_customers",
                "config": {"condition": {"all": [{"field": "city", "op": "not_equals", "value": "Oslo"}]}},
            },
            {"id": "wait", **wait},
            {
                "id": "email",
                "type": "send_email",
                "config": {
                    "subject": "Hello {{ customer.first_name }}",
                    "body_html": "<p>Dear {{ customer.first_name }} {{ customer.last_name }},</p>"
                    "<p>news for {{ customer.city | default: 'you' }}.</p>",
                },
            },
        ],
        "edges": [
            {"source": "trigger", "target": "filter"},
            {"source": "filter", "target": "wait", "source_port": "yes"},
            {"source": "wait", "target": "email"},
        ],
    }


# -- baselines ------------------------------------------------------------------------------------------
def raw_insert_select(db: Database, n: int) -> float:
    """Seconds for one ``INSERT … SELECT`` writing one row per customer into a fresh, index-free table."""
    scratch_md = MetaData()
    scratch = Table(
        "bench_raw_copy",
        scratch_md,
        Column("customer_id", BigInteger, nullable=False),
        Column("campaign_id", BigInteger, nullable=False),
        Column("node_id", String(64), nullable=False),
        Column("recipient", String(320)),
        Column("status", String(16), nullable=False),
        Column("created_at", BigInteger, nullable=False),
    )
    with db.engine.begin() as conn:
        scratch_md.create_all(conn)
    checkpoint(db)
    rows = select(
        customers.c.id,
        bindparam("campaign", 1),
        bindparam("node", "email"),
        customers.c.email,
        bindparam("status", "queued"),
        bindparam("created", 0),
    )
    statement = scratch.insert().from_select(
        ["customer_id", "campaign_id", "node_id", "recipient", "status", "created_at"], rows
    )
    started = time.perf_counter()
    with db.engine.begin() as conn:
        moved = conn.execute(statement).rowcount
    seconds = time.perf_counter() - started
    if moved != n:
        raise AssertionError(f"raw INSERT … SELECT moved {moved} rows, expected {n}")
    with db.engine.begin() as conn:
        scratch_md.drop_all(conn)
    return seconds


_VALID_EMAIL = re.compile(r"^[^@ ]+@[^@ ]+\.[^@ ]+$")


def per_customer_loop(db: Database, sample: int, commit_every: int) -> float:
    """Seconds for the naive loop over ``sample`` customers: per customer, select it, evaluate the filter in
    Python, insert a journey row and (if it gets the e-mail) a message row — each its own statement, with a
    commit every ``commit_every`` customers. Tables have indexes shaped like the engine's."""
    scratch_md = MetaData()
    journey = Table(
        "bench_loop_journey",
        scratch_md,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("campaign_id", BigInteger, nullable=False),
        Column("customer_id", BigInteger, nullable=False),
        Column("node_id", String(64), nullable=False),
        Column("due_at", BigInteger, nullable=False),
        Column("status", String(8), nullable=False),
    )
    journey.append_constraint(UniqueConstraint("campaign_id", "customer_id", name="uq_bench_loop_journey"))
    message = Table(
        "bench_loop_messages",
        scratch_md,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("customer_id", BigInteger, nullable=False),
        Column("node_id", String(64), nullable=False),
        Column("recipient", String(320), nullable=False),
        Column("status", String(16), nullable=False),
        Column("send_after", BigInteger, nullable=False),
        UniqueConstraint("customer_id", "node_id", name="uq_bench_loop_messages"),
    )
    with db.engine.begin() as conn:
        scratch_md.create_all(conn)
        ids = conn.execute(select(customers.c.id).order_by(customers.c.id).limit(sample)).scalars().all()
    checkpoint(db)
    get = select(customers.c.id, customers.c.email, customers.c.city).where(customers.c.id == bindparam("cid"))
    insert_journey = journey.insert()
    insert_message = message.insert()
    due = int((FIRE_AT + timedelta(days=1)).timestamp() * 1_000_000)
    started = time.perf_counter()
    with db.engine.connect() as conn:
        transaction = conn.begin()
        for done, customer_id in enumerate(ids, 1):
            row = conn.execute(get, {"cid": customer_id}).one()
            passes = row.city != "Oslo"
            conn.execute(
                insert_journey,
                {
                    "campaign_id": 1,
                    "customer_id": row.id,
                    "due_at": due,
                    "node_id": "wait" if passes else "left",
                    "status": "waiting",
                },
            )
            if passes and row.email and _VALID_EMAIL.match(row.email):
                conn.execute(
                    insert_message,
                    {
                        "customer_id": row.id,
                        "node_id": "email",
                        "recipient": row.email,
                        "status": "queued",
                        "send_after": due,
                    },
                )
            if done % commit_every == 0:
                transaction.commit()
                transaction = conn.begin()
        transaction.commit()
    seconds = time.perf_counter() - started
    with db.engine.begin() as conn:
        scratch_md.drop_all(conn)
    return seconds


# -- instrumentation ------------------------------------------------------------------------------------
class TimeLimit(Exception):
    """The engine run passed --time-limit; raised between chunks, so the database stays consistent."""


class Phases:
    def __init__(self, timer: StatementTimer | None) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.timer = timer
        self.deadline: float | None = None

    def start(self, time_limit: float | None) -> None:
        """The engine starts now: ``time_limit`` seconds from now, ``check_deadline`` raises ``TimeLimit``."""
        self.deadline = None if time_limit is None else time.perf_counter() + time_limit

    def extend(self, seconds: float) -> None:
        """The engine was paused this long (between the stages); the time limit does not count it."""
        if self.deadline is not None:
            self.deadline += seconds

    def check_deadline(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TimeLimit()

    @contextmanager
    def measure(self, phase: str) -> Iterator[None]:
        if self.timer:
            outer, self.timer.phase = self.timer.phase, phase
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - started
            if self.timer:
                self.timer.phase = outer

    def relabel(self, old: str, new: str) -> None:
        """Chunk statements are timed before the chunk says which node it was at; file them under it now."""
        self.seconds[new] += self.seconds.pop(old, 0.0)
        if self.timer:
            for phase, key in [k for k in self.timer.stats if k[0] == old]:
                stats = self.timer.stats.pop((phase, key))
                into = self.timer.stats.setdefault((new, key), type(stats)())
                into.calls += stats.calls
                into.seconds += stats.seconds
                into.rows += stats.rows


class TimedRuntime:
    """A synchronous runtime like ``DirectRuntime`` that times each chunk by the node it advanced."""

    synchronous = True

    def __init__(self, services: Services, phases: Phases, progress: Progress) -> None:
        self.services = services
        self.phases = phases
        self.progress = progress
        self.chunks: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()

    def submit(self, nodes: Sequence[DueNode], *, limit: int) -> int:
        ran = 0
        for node in nodes:
            with self.phases.measure("chunk"):
                result = advance_chunk(
                    self.services.db, self.services.documents, node, self.services.clock.now(), limit=limit
                )
            if not result.size:
                self.phases.relabel("chunk", "other")
                continue
            ran += 1
            phase = NODE_PHASE.get(node.node_id, f"node:{node.node_id}")
            self.phases.relabel("chunk", phase)
            self.chunks[phase] += 1
            self.rows[phase] += result.size
            self.progress.say(f"{phase}: {self.rows[phase]:,} customers in {self.chunks[phase]} chunks")
            self.phases.check_deadline()
        return ran

    def in_flight(self) -> int:
        return 0


class DeliveryChunks:
    """Counts delivered messages for progress and the time limit by wrapping the delivery's per-chunk method on
    the instance (``_deliver_chunk``: it returns the chunk's message count, alone or first in a tuple, in every
    version of the pipeline so far). Checked after a chunk returns, i.e. after its transaction committed."""

    def __init__(self, delivery: Any, progress: Progress, phases: Phases) -> None:
        self.progress = progress
        self.phases = phases
        self.sent = 0
        self.hooked = callable(getattr(delivery, "_deliver_chunk", None))
        if self.hooked:
            inner = delivery._deliver_chunk

            def chunk(*args: Any, **kwargs: Any) -> Any:
                result = inner(*args, **kwargs)
                count = result[0] if isinstance(result, tuple) else result
                if isinstance(count, int) and count:
                    self.sent += count
                    self.progress.say(f"delivery: {self.sent:,} messages")
                self.phases.check_deadline()
                return result

            delivery._deliver_chunk = chunk


class HeldDelivery:
    """The scheduler's delivery step, held back during the movement stage — each tick finds nothing to deliver, so
    every message stays queued — until ``release``; then delivery runs alone and is timed on its own."""

    def __init__(self, deliver: Callable[[datetime], int]) -> None:
        self.deliver = deliver
        self.held = True

    def __call__(self, now: datetime) -> int:
        return 0 if self.held else self.deliver(now)

    def release(self) -> None:
        self.held = False


def _timed(phases: Phases, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with phases.measure(phase):
            return function(*args, **kwargs)

    return wrapper


@contextmanager
def instrumented(
    services: Services, phases: Phases, progress: Progress
) -> Iterator[tuple[TimedRuntime, DeliveryChunks, HeldDelivery]]:
    runtime = TimedRuntime(services, phases, progress)
    scheduler = services.scheduler
    scheduler.runtime = runtime
    services.runtime = runtime
    held = HeldDelivery(_timed(phases, "delivery", scheduler.delivery))
    scheduler.delivery = held
    provider = DeliveryChunks(services.delivery, progress, phases)
    original_fire = scheduler_module.fire_schedules
    scheduler_module.fire_schedules = _timed(phases, "enter", original_fire)
    try:
        yield runtime, provider, held
    finally:
        scheduler_module.fire_schedules = original_fire


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ≥ 4.0), so the engine's own peak can be read afterwards."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def vm_hwm_mb() -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


# -- checks ---------------------------------------------------------------------------------------------
def message_statuses(db: Database) -> dict[str, int]:
    by_status = select(messages.c.status, func.count()).group_by(messages.c.status)
    with db.engine.connect() as conn:
        return {status: int(count) for status, count in conn.execute(by_status)}


def verify(db: Database, campaign_id: int, expected: Expected) -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts after the run, and each check as {actual, expected, ok}."""
    with db.engine.connect() as conn:
        counters = {
            (node, metric): int(value) for node, metric, value in conn.execute(journeys.counters_of(campaign_id)).all()
        }
        by_status = dict(conn.execute(select(messages.c.status, func.count()).group_by(messages.c.status)).all())
        entry_status = dict(conn.execute(select(entries.c.status, func.count()).group_by(entries.c.status)).all())
        mailbox_rows = conn.execute(select(func.count()).select_from(mailbox)).scalar_one()
        tokens_left = conn.execute(select(func.count()).select_from(journey_state)).scalar_one()
        trace_rows = conn.execute(select(func.count()).select_from(journey_trace)).scalar_one()
        email = customers.c.email
        eligible_sql = conn.execute(
            select(func.count())
            .select_from(customers)
            .where(
                or_(customers.c.city != "Oslo", customers.c.city.is_(None)),
                email.is_not(None),
                email != "",
                valid_email(email),
            )
        ).scalar_one()
    sent = int(by_status.get("sent", 0))
    counts = {
        "customers": expected.customers,
        "entered": counters.get(("trigger", "performed"), 0),
        "filter_yes": counters.get(("filter", "port:yes"), 0),
        "filter_no": counters.get(("filter", "port:no"), 0),
        "waited": counters.get(("wait", "performed"), 0),
        "dropped_no_contact": counters.get(("email", "dropped:no_contact"), 0),
        "dropped_invalid_contact": counters.get(("email", "dropped:invalid_contact"), 0),
        "messages_sent": sent,
        "messages_total": int(sum(by_status.values())),
        "mailbox": int(mailbox_rows),
        "entries_completed": int(entry_status.get("completed", 0)),
        "tokens_left": int(tokens_left),
        "trace_rows": int(trace_rows),
    }
    wanted = {
        "entered": expected.customers,
        "filter_yes": expected.filter_yes,
        "filter_no": expected.filter_no,
        "waited": expected.filter_yes,
        "dropped_no_contact": expected.no_contact,
        "dropped_invalid_contact": expected.invalid_contact,
        "messages_sent": expected.sent,
        "messages_total": expected.sent,
        "mailbox": expected.sent,
        "entries_completed": expected.customers,
        "tokens_left": 0,
        # trigger + filter for everyone, then wait and email for those who passed the filter
        "trace_rows": 2 * expected.customers + 2 * expected.filter_yes,
    }
    checks = {
        name: {"actual": counts[name], "expected": value, "ok": counts[name] == value} for name, value in wanted.items()
    }
    checks["eligible_by_sql"] = {
        "actual": int(eligible_sql),
        "expected": expected.sent,
        "ok": int(eligible_sql) == expected.sent,
    }
    return counts, checks


# -- the run --------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """One half of the engine run: wall seconds (until it finished, or was stopped), CPU split, row versions
    (PostgreSQL)."""

    completed: bool = False
    seconds: float | None = None
    cpu: dict[str, float | None] | None = None
    row_writes: dict[str, Any] | None = None


@dataclass
class EngineRun:
    """What the engine part measured, in this process or in worker processes."""

    completed: bool
    seconds: float  # activation until every message is delivered (or the time limit)
    movement: Stage  # activation until every message is queued
    delivery: Stage
    delivery_interleaved: bool  # delivery ran beside movement (workers), not after it
    cpu: dict[str, float | None]
    row_writes: dict[str, Any] | None
    counts: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def settled_writes(services: Services, url: str) -> dict[str, dict[str, int]] | None:
    """``table_writes`` once the engine's pooled sessions have closed, and so flushed their statistics (the pool
    opens new ones when the engine goes on)."""
    services.db.engine.dispose()
    return table_writes(url)


def cpu_sum(first: dict[str, float | None], second: dict[str, float | None] | None) -> dict[str, float | None]:
    if second is None:
        return first
    return {
        key: None if value is None or second[key] is None else round(value + second[key], 2)  # type: ignore[operator]
        for key, value in first.items()
    }


def run_in_process(url: str, args: argparse.Namespace, expected: Expected, progress: Progress) -> EngineRun:
    """The manual clock in this process: movement with the delivery step held, then delivery alone."""
    n = args.customers
    database = database_name(url)
    settings = Settings(
        database_url=url, clock="manual", chunk_size=args.chunk_size, delivery_chunk_size=args.delivery_chunk_size
    )
    services = Services.build(settings, clock=ManualClock(START))
    plans: list[str] = []
    if args.explain_slow is not None and services.db.is_postgres:
        install_auto_explain(services.db, args.explain_slow, plans)
    timer = StatementTimer() if args.profile else None
    if timer:
        timer.install(services.db)
    phases = Phases(timer)
    profiler = cProfile.Profile() if args.cprofile else None
    movement, delivery = Stage(), Stage()
    timed_out = False
    maintenance_seconds = 0.0
    counts: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    try:
        writes_start = settled_writes(services, url)  # the load and baselines wrote too; subtract them
        writes_end = writes_start
        engine_peak_reset = reset_peak_rss()
        with instrumented(services, phases, progress) as (runtime, provider, held):
            progress.say("movement: activating and advancing the manual clock, delivery held", force=True)
            cpu_start = cpu_sample(database)
            phases.start(args.time_limit)
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            try:
                with phases.measure("other"):
                    campaign_id = int(services.campaigns.create(campaign_document(MANUAL_TRIGGER, MANUAL_WAIT))["id"])
                    services.campaigns.transition(campaign_id, "activate")
                    services.advancer.advance_to(FIRE_AT)
                    if args.vacuum_between:  # during the simulated day; not billed to the engine
                        maintenance_seconds = maintain(url)
                        progress.say(f"maintenance between the advances: {maintenance_seconds:.1f} s", force=True)
                    services.advancer.advance_to(FIRE_AT + timedelta(days=1, minutes=1))
            except TimeLimit:
                timed_out = True
            movement.seconds = time.perf_counter() - started - maintenance_seconds
            movement.completed = not timed_out
            phases.seconds["other"] -= maintenance_seconds
            if profiler:
                profiler.disable()
            movement.cpu = cpu_between(cpu_start, cpu_sample(database))
            paused = time.perf_counter()
            writes_end = settled_writes(services, url)
            movement.row_writes = row_versions(writes_start, writes_end, n)
            if not timed_out:
                statuses = message_statuses(services.db)
                checks["queued_after_movement"] = {
                    "actual": statuses.get("queued", 0),
                    "expected": expected.sent,
                    "ok": statuses == ({"queued": expected.sent} if expected.sent else {}),
                }
                progress.say(f"movement done in {movement.seconds:.1f} s ({statuses}); delivering", force=True)
                held.release()
                phases.extend(time.perf_counter() - paused)
                cpu_start = cpu_sample(database)
                if profiler:
                    profiler.enable()
                started = time.perf_counter()
                try:
                    with phases.measure("other"):
                        services.scheduler.run_until_idle()
                except TimeLimit:
                    timed_out = True
                delivery.seconds = time.perf_counter() - started
                delivery.completed = not timed_out
                if profiler:
                    profiler.disable()
                delivery.cpu = cpu_between(cpu_start, cpu_sample(database))
                writes_moved, writes_end = writes_end, settled_writes(services, url)
                delivery.row_writes = row_versions(writes_moved, writes_end, n)
        engine_peak = vm_hwm_mb() if engine_peak_reset else None
        seconds = movement.seconds + (delivery.seconds or 0.0)
        if timed_out:
            progress.say(f"engine stopped by --time-limit after {seconds:.1f} s", force=True)
        else:
            progress.say(f"delivery done in {delivery.seconds:.1f} s; verifying", force=True)
            found, verified = verify(services.db, campaign_id, expected)
            counts.update(found)
            checks.update(verified)
    finally:
        services.close()

    # "other" was measured around each stage; the named phases nested inside it are taken out again.
    nested = sum(spent for phase, spent in phases.seconds.items() if phase != "other")
    breakdown = {phase: round(phases.seconds.get(phase, 0.0), 3) for phase in PHASES if phase != "other"}
    breakdown["other"] = round(phases.seconds["other"] - nested, 3)
    for phase, spent in phases.seconds.items():
        if phase not in breakdown:
            breakdown[phase] = round(spent, 3)
    details: dict[str, Any] = {
        "breakdown": breakdown,
        "chunks": dict(runtime.chunks),
        "progress": {
            "customers_through": dict(runtime.rows),
            "messages_delivered": provider.sent if provider.hooked else None,
        },
        "engine_peak_rss_mb": round(engine_peak, 1) if engine_peak is not None else None,
        "maintenance_seconds": round(maintenance_seconds, 3) if args.vacuum_between else None,
    }
    if timer:
        details["statements"] = timer.top(args.profile_top)
        details["statement_seconds"] = round(timer.total_seconds(), 3)
    if plans:
        with open(args.explain_file, "w") as out:
            out.write("\n\n".join(plans))
        details["explained"] = {"file": args.explain_file, "plans": len(plans)}
    if profiler:
        profiler.dump_stats(args.cprofile)
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(30)
        print(buffer.getvalue(), file=sys.stderr)
        details["cprofile"] = args.cprofile
    assert movement.cpu is not None
    return EngineRun(
        completed=not timed_out,
        seconds=seconds,
        movement=movement,
        delivery=delivery,
        delivery_interleaved=False,
        cpu=cpu_sum(movement.cpu, delivery.cpu),
        row_writes=row_versions(writes_start, writes_end, n),
        counts=counts,
        checks=checks,
        details=details,
    )


def first_message_created(db: Database) -> float | None:
    with db.engine.connect() as conn:
        first = conn.execute(select(func.min(messages.c.created_at))).scalar()
    return None if first is None else float(first.timestamp())


def run_with_workers(url: str, args: argparse.Namespace, expected: Expected, progress: Progress) -> EngineRun:
    """W ``tidings worker`` processes on the system clock; the bench activates the campaign and polls."""
    n = args.customers
    database = database_name(url)
    db = Database.open(url)
    try:
        launch = Launch.now(db)
    finally:
        db.dispose()
    document = campaign_document(launch.trigger(), wait_until(launch.at))  # the wait releases at once
    writes_start = table_writes(url)
    env = {
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_CLOCK": "system",
        "TIDINGS_RUNTIME": "direct",
        "TIDINGS_CHUNK_SIZE": str(args.chunk_size),
        "TIDINGS_DELIVERY_CHUNK_SIZE": str(args.delivery_chunk_size),
        "TIDINGS_TICK_SECONDS": str(args.tick_seconds),
    }
    poll_db = Database.open(url)
    try:
        with tidings_workers(args.workers, env) as workers, poll_db.engine.connect() as poll:
            own = [int(poll.execute(text("SELECT pg_backend_pid()")).scalar_one())]
            poll.rollback()
            progress.say(f"{args.workers} worker(s) ready; activating", force=True)
            cpu_start: CpuSample = cpu_sample(database, workers.pids, skip=own)
            started = time.time()
            campaign_id = activate_armed(url, document, launch)
            deadline = None if args.time_limit is None else started + args.time_limit
            seen = watch(
                poll,
                campaign_id,
                n,
                every=args.poll_seconds,
                deadline=deadline,
                check=workers.check,
                progress=progress,
            )
            ended = seen.delivered or time.time()
            cpu = cpu_between(cpu_start, cpu_sample(database, workers.pids, skip=own))
    finally:
        poll_db.dispose()
    writes = row_versions(writes_start, table_writes(url), n)
    completed = seen.delivered is not None
    counts: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    db = Database.open(url)
    try:
        first_created = first_message_created(db)
        if completed:
            counts, checks = verify(db, campaign_id, expected)
        else:
            progress.say(f"stopped by --time-limit: {seen.last}", force=True)
    finally:
        db.dispose()

    def since_start(moment: float | None) -> float | None:
        return None if moment is None else round(moment - started, 3)

    delivery_seconds = None
    if completed and first_created is not None:
        delivery_seconds = ended - first_created
    return EngineRun(
        completed=completed,
        seconds=ended - started,
        movement=Stage(seen.moved is not None, None if seen.moved is None else seen.moved - started),
        delivery=Stage(completed, delivery_seconds),
        delivery_interleaved=True,
        cpu=cpu,
        row_writes=writes,
        counts=counts,
        checks=checks,
        details={
            "progress": seen.last,
            "milestones": {
                "all_entered_s": since_start(seen.entered),
                "all_queued_s": since_start(seen.moved),
                "first_message_queued_s": since_start(first_created),
                "all_delivered_s": since_start(seen.delivered),
                "poll_seconds": args.poll_seconds,
            },
        },
    )


def per_second(count: int, seconds: float | None) -> float | None:
    return round(count / seconds, 1) if seconds else None


def run(url: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    n = args.customers
    loadavg_before = load_average()  # other work on the machine skews timings
    db = Database.open(url)
    try:
        started = time.perf_counter()
        expected = load_customers(db, n, chunk=args.load_chunk, progress=progress)
        load_seconds = time.perf_counter() - started
        progress.say(f"loaded {n:,} customers in {load_seconds:.1f} s", force=True)
        rss_after_load = rss_mb()

        raw_seconds = raw_insert_select(db, n)
        progress.say(f"raw INSERT … SELECT of {n:,} rows: {raw_seconds:.2f} s", force=True)

        sample = min(n, args.loop_sample)
        loop_seconds = per_customer_loop(db, sample, args.loop_commit_every)
        progress.say(f"per-customer loop over {sample:,} customers: {loop_seconds:.2f} s", force=True)
        checkpoint(db)
    finally:
        db.dispose()

    engine = (run_with_workers if args.workers else run_in_process)(url, args, expected, progress)

    done = engine.completed
    raw_rate = n / raw_seconds
    loop_rate = sample / loop_seconds
    engine_rate = per_second(n, engine.seconds) if done else None
    movement_rate = per_second(n, engine.movement.seconds) if engine.movement.completed else None
    writes = engine.row_writes

    def stage(part: Stage) -> dict[str, Any]:
        return {
            "completed": part.completed,
            "seconds": None if part.seconds is None else round(part.seconds, 3),
            "cpu": part.cpu,
            "row_versions_per_customer": part.row_writes["per_customer"] if part.row_writes else None,
            "row_writes": part.row_writes,
        }

    return {
        "customers": n,
        "db": args.db,
        "workers": args.workers,
        # A run stopped by --time-limit has no throughput: only `progress` says how far it got.
        "seconds": round(engine.seconds, 3),
        "customers_per_s": engine_rate,
        "raw_sql_ratio": None if engine_rate is None else round(engine_rate / raw_rate, 4),
        "per_customer_ratio": None if engine_rate is None else round(engine_rate / loop_rate, 2),
        "movement_seconds": None if engine.movement.seconds is None else round(engine.movement.seconds, 3),
        "movement_customers_per_s": movement_rate,
        "movement_raw_sql_ratio": None if movement_rate is None else round(movement_rate / raw_rate, 4),
        "delivery_seconds": None if engine.delivery.seconds is None else round(engine.delivery.seconds, 3),
        "delivery_per_s": per_second(expected.sent, engine.delivery.seconds) if done else None,
        "delivery_interleaved": engine.delivery_interleaved,
        "row_versions_per_customer": writes["per_customer"] if writes else None,
        "hot_update_share": writes["hot_update_share"] if writes else None,
        "stages": {"movement": stage(engine.movement), "delivery": stage(engine.delivery)},
        "cpu": {
            "python_seconds": engine.cpu["worker_seconds" if args.workers else "this_process_seconds"],
            **engine.cpu,
            "note": "python: the workers with --workers, else this process; postgres_backend: the server processes "
            "serving the bench database; postgres_background: checkpointer, background writer and WAL writer (shared "
            "with other databases). Wall minus CPU ≈ time nobody ran (I/O, fsync waits, other load)",
        },
        "row_writes": writes,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_load_mb": round(rss_after_load, 1),
        "counts": engine.counts,
        "checks": engine.checks,
        "ok": done and all(check["ok"] for check in engine.checks.values()),
        "completed": done,
        **engine.details,
        "load": {
            "seconds": round(load_seconds, 3),
            "customers_per_s": round(n / load_seconds, 1),
            "method": "COPY" if args.db == "postgres" else "executemany",
        },
        "raw_sql": {
            "seconds": round(raw_seconds, 4),
            "rows_per_s": round(raw_rate, 1),
            "statement": "INSERT INTO bench_raw_copy SELECT … FROM customers (no indexes)",
        },
        "per_customer": {
            "sample": sample,
            "seconds": round(loop_seconds, 3),
            "customers_per_s": round(loop_rate, 1),
            "commit_every": args.loop_commit_every,
            "work": "SELECT customer; filter in Python; INSERT journey row; INSERT message row",
        },
        "settings": {
            "chunk_size": args.chunk_size,
            "delivery_chunk_size": args.delivery_chunk_size,
            "vacuum_between": args.vacuum_between,
            "tick_seconds": args.tick_seconds if args.workers else None,
        },
        **provenance(url, loadavg_before),
    }


# -- output ---------------------------------------------------------------------------------------------
def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    where = f"{result['workers']} tidings worker(s)" if result["workers"] else "this process, manual clock"
    summary = RichTable(title=f"Engine benchmark: {result['customers']:,} customers on {result['db']}, {where}")
    summary.add_column("metric")
    summary.add_column("value", justify="right")

    def number(value: float | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    label = "engine seconds (activation → every message delivered)"
    if not result["completed"]:
        label += " — STOPPED by --time-limit"
    summary.add_row(label, f"{result['seconds']:.2f}")
    summary.add_row("customers / s", number(result["customers_per_s"], ",.0f"))
    summary.add_row("raw_sql_ratio (engine ÷ raw INSERT … SELECT)", number(result["raw_sql_ratio"], ".4f"))
    summary.add_row(
        f"per_customer_ratio (engine ÷ loop, {result['per_customer']['sample']:,} sample)",
        number(result["per_customer_ratio"], ".2f"),
    )
    summary.add_row("movement seconds (activation → every message queued)", number(result["movement_seconds"], ".2f"))
    summary.add_row("movement customers / s", number(result["movement_customers_per_s"], ",.0f"))
    summary.add_row("movement_raw_sql_ratio", number(result["movement_raw_sql_ratio"], ".4f"))
    interleaved = " (first queued → all delivered, beside movement)" if result["delivery_interleaved"] else ""
    summary.add_row(f"delivery seconds{interleaved}", number(result["delivery_seconds"], ".2f"))
    summary.add_row("delivery messages / s", number(result["delivery_per_s"], ",.0f"))
    summary.add_row("row versions per customer (HOT share of updates)", _row_versions(result))
    cpu = result["cpu"]
    summary.add_row(
        "CPU s: python / PG backends / PG background",
        f"{number(cpu['python_seconds'], '.1f')} / {number(cpu['postgres_backend_seconds'], '.1f')} / "
        f"{number(cpu['postgres_background_seconds'], '.1f')}",
    )
    summary.add_row("peak RSS, whole process (MB)", f"{result['peak_rss_mb']:.0f}")
    if result.get("engine_peak_rss_mb") is not None:
        summary.add_row("peak RSS during the engine run (MB)", f"{result['engine_peak_rss_mb']:.0f}")
    summary.add_row("load (s)", f"{result['load']['seconds']:.2f}")
    summary.add_row("raw INSERT … SELECT (s)", f"{result['raw_sql']['seconds']:.3f}")
    summary.add_row("per-customer loop (customers / s)", f"{result['per_customer']['customers_per_s']:,.0f}")
    environment = result["environment"]
    source = result["engine_source"]
    summary.add_row("date", result["date"])
    summary.add_row("commit", f"{(source['commit'] or '?')[:10]}{' (dirty)' if source['dirty'] else ''}")
    summary.add_row("machine", f"{environment['cpu']}, {environment['cores']} cores, {environment['memory_gib']} GiB")
    summary.add_row("load average before → after", f"{environment['loadavg_before']} → {environment['loadavg_after']}")
    console.print(summary)

    if "breakdown" in result:
        breakdown = RichTable(title="Engine phases")
        breakdown.add_column("phase")
        breakdown.add_column("seconds", justify="right")
        breakdown.add_column("share", justify="right")
        breakdown.add_column("chunks", justify="right")
        for phase, seconds in result["breakdown"].items():
            share = seconds / result["seconds"] if result["seconds"] else 0
            breakdown.add_row(phase, f"{seconds:.2f}", f"{share:.0%}", str(result["chunks"].get(phase, "")))
        console.print(breakdown)

    if not result["completed"]:
        console.print(f"Stopped by --time-limit; progress: {result['progress']}")
        return

    checks = RichTable(title="Correctness checks")
    checks.add_column("check")
    checks.add_column("actual", justify="right")
    checks.add_column("expected", justify="right")
    checks.add_column("ok")
    for name, check in result["checks"].items():
        checks.add_row(name, f"{check['actual']:,}", f"{check['expected']:,}", "✓" if check["ok"] else "✗ MISMATCH")
    console.print(checks)

    if "statements" in result:
        statements = RichTable(title=f"Slowest statements (total timed {result['statement_seconds']:.1f} s)")
        for column in ("phase", "seconds", "calls", "rows", "sql"):
            statements.add_column(column, justify="right" if column in ("seconds", "calls", "rows") else "left")
        for item in result["statements"]:
            statements.add_row(
                item["phase"], f"{item['seconds']:.2f}", str(item["calls"]), f"{item['rows']:,}", item["sql"][:160]
            )
        console.print(statements)


def _row_versions(result: dict[str, Any]) -> str:
    if result["row_versions_per_customer"] is None:
        return "— (PostgreSQL only)"
    stages = result["stages"]
    split = ""
    if stages["movement"]["row_versions_per_customer"] is not None:
        moved = stages["movement"]["row_versions_per_customer"]
        delivered = stages["delivery"]["row_versions_per_customer"]
        split = f" = {moved} movement + {'—' if delivered is None else delivered} delivery"
    hot = result["hot_update_share"]
    return f"{result['row_versions_per_customer']}{split} ({'—' if hot is None else format(hot, '.0%')})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers in the base (default 10,000)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="W",
        help="run the engine in W `tidings worker` processes on the system clock, delivery beside the chunks, as "
        "production does (PostgreSQL); 0 (default): in this process on the manual clock, movement then delivery",
    )
    add_engine_options(parser, poll_seconds=0.5, workers="with --workers")
    parser.add_argument("--load-chunk", type=int, default=50_000, help="customers generated per load chunk")
    parser.add_argument(
        "--loop-sample",
        type=int,
        default=10_000,
        help="customers in the per-customer loop baseline (min(N, this); default %(default)s)",
    )
    parser.add_argument(
        "--loop-commit-every",
        type=int,
        default=100,
        help="the loop commits every this many customers (default %(default)s)",
    )
    parser.add_argument("--profile", action="store_true", help="time every SQL statement by phase")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--cprofile", metavar="FILE", help="cProfile the engine part into FILE (top 30 on stderr)")
    parser.add_argument(
        "--explain-slow",
        type=int,
        metavar="MS",
        help="PostgreSQL: auto_explain (ANALYZE, BUFFERS) every engine statement slower than MS",
    )
    parser.add_argument("--explain-file", default="bench-plans.txt", help="where --explain-slow writes the plans")
    parser.add_argument(
        "--vacuum-between",
        action="store_true",
        help="VACUUM (ANALYZE) the engine tables between the two clock advances, as autovacuum would during the "
        "simulated day (autovacuum is off on the CI server); its time is reported apart, not in `seconds`",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop the engine part after this long (reports progress so far, exits 2)",
    )
    parser.add_argument(
        "--engine-commit",
        metavar="REV",
        help="measure this commit's src/ (git archive into a temp dir) instead of the working tree",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards (for EXPLAIN)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    if args.workers < 0:
        parser.error("--workers must be 0 (this process) or more")
    if args.workers:
        if args.db != "postgres":
            parser.error("--workers needs --db postgres: `tidings worker` processes share one PostgreSQL")
        in_process = {
            "--profile": args.profile,
            "--cprofile": args.cprofile,
            "--explain-slow": args.explain_slow is not None,
            "--vacuum-between": args.vacuum_between,
        }
        given = [option for option, value in in_process.items() if value]
        if given:
            parser.error(f"{', '.join(given)} instrument(s) this process's engine; not with --workers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.engine_commit and not os.environ.get(PINNED_ENV):
        forwarded = list(sys.argv[1:] if argv is None else argv)
        index = forwarded.index("--engine-commit") if "--engine-commit" in forwarded else None
        if index is not None:
            del forwarded[index : index + 2]
        else:
            forwarded = [a for a in forwarded if not a.startswith("--engine-commit=")]
        return run_pinned(args.engine_commit, forwarded)
    progress = Progress(enabled=not args.quiet)
    with fresh_database(args.db, keep=args.keep_db) as url:
        result = run(url, args, progress)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_table(result)
    if not result["completed"]:
        print(f"[bench] stopped by --time-limit {args.time_limit:g} s before the campaign finished", file=sys.stderr)
        return 2
    if not result["ok"]:
        failed = [name for name, check in result["checks"].items() if not check["ok"]]
        print(f"[bench] count mismatch: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
