"""End-to-end engine benchmark: a whole-base campaign on N customers, with the manual clock.

    python -m bench.engine --customers 100000 --db postgres --json

The campaign: ``date_has_come`` (the whole base, D11) → ``filter_customers`` (city ≠ Oslo → yes; `no` has no
edge) → ``wait`` 1 day → ``send_email`` (sandbox provider, so delivery writes the built-in mailbox).
The bench creates a fresh database, migrates it, streams N customers in (COPY on PostgreSQL), measures two
baselines in the same run — a raw ``INSERT … SELECT`` of the same N rows and a naive per-customer loop — and
then times the engine from activation through the final clock advance, per phase. Counts are checked; a
mismatch prints the result and exits 1.

Phases are attributed without touching engine code: the runtime is a timing ``Runtime`` that calls
``advance_chunk`` (like ``DirectRuntime``), delivery and its per-chunk method are wrapped on the instance, and the
scheduler's ``fire_schedules`` and ``claim_chunks`` are wrapped for the duration of the run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, UniqueConstraint, bindparam, func, or_, select

import tidings.engine.scheduler as scheduler_module
from bench.common import (
    PINNED_ENV,
    Expected,
    Progress,
    StatementTimer,
    backend_cpu_seconds,
    checkpoint,
    engine_source,
    fresh_database,
    install_auto_explain,
    load_customers,
    maintain,
    peak_rss_mb,
    process_cpu_seconds,
    rss_mb,
    run_pinned,
    table_writes,
)
from tidings.actions.send_email import valid_email
from tidings.core.clock import ManualClock
from tidings.engine.advance import advance_chunk
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
NODE_PHASE = {"filter": "filter", "wait": "wait_release", "email": "send"}
PHASES = ("enter", "filter", "wait_release", "send", "delivery", "claim", "other")


def campaign_document() -> dict[str, Any]:
    return {
        "name": "Benchmark: whole base, filter, wait, e-mail",
        "trigger": {"id": "trigger", "type": "date_has_come", "config": {"date": FIRE_DATE, "hour": FIRE_HOUR}},
        "nodes": [
            {
                "id": "filter",
                "type": "filter_customers",
                "config": {"condition": {"all": [{"field": "city", "op": "not_equals", "value": "Oslo"}]}},
            },
            {"id": "wait", "type": "wait", "config": {"amount": 1, "unit": "days"}},
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
    def __init__(self, timer: StatementTimer | None, time_limit: float | None = None) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.timer = timer
        self.deadline = None if time_limit is None else time.perf_counter() + time_limit

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

    def submit(self, claim_ids: Sequence[str]) -> None:
        for claim_id in claim_ids:
            with self.phases.measure("chunk"):
                result = advance_chunk(self.services.db, self.services.documents, claim_id, self.services.clock.now())
            phase = NODE_PHASE.get(result.node_id or "", f"node:{result.node_id}")
            self.phases.relabel("chunk", phase)
            self.chunks[phase] += 1
            self.rows[phase] += result.size
            self.progress.say(f"{phase}: {self.rows[phase]:,} customers in {self.chunks[phase]} chunks")
            self.phases.check_deadline()


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


def _timed(phases: Phases, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with phases.measure(phase):
            return function(*args, **kwargs)

    return wrapper


@contextmanager
def instrumented(
    services: Services, phases: Phases, progress: Progress
) -> Iterator[tuple[TimedRuntime, DeliveryChunks]]:
    runtime = TimedRuntime(services, phases, progress)
    scheduler = services.scheduler
    scheduler.runtime = runtime
    services.runtime = runtime
    scheduler.claim_chunks = _timed(phases, "claim", scheduler.claim_chunks)  # type: ignore[method-assign]
    scheduler.delivery = _timed(phases, "delivery", scheduler.delivery)
    provider = DeliveryChunks(services.delivery, progress, phases)
    original_fire = scheduler_module.fire_schedules
    scheduler_module.fire_schedules = _timed(phases, "enter", original_fire)
    try:
        yield runtime, provider
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


def engine_writes(
    before: dict[str, dict[str, int]] | None, after: dict[str, dict[str, int]] | None, n: int
) -> dict[str, Any] | None:
    """Row versions the engine wrote per table (PostgreSQL statistics), and in total per customer."""
    if before is None or after is None:
        return None
    tables: dict[str, dict[str, int]] = {}
    for name, counts in after.items():
        if name.startswith("bench_"):
            continue
        base = before.get(name, {})
        delta = {key: value - base.get(key, 0) for key, value in counts.items()}
        if any(delta.values()):
            tables[name] = delta
    total = sum(t["inserted"] + t["updated"] + t["deleted"] for t in tables.values())
    hot = sum(t["hot_updated"] for t in tables.values())
    updated = sum(t["updated"] for t in tables.values())
    return {
        "tables": tables,
        "per_customer": round(total / n, 2),
        "hot_update_share": round(hot / updated, 4) if updated else None,
    }


# -- checks ---------------------------------------------------------------------------------------------
def verify(services: Services, campaign_id: int, expected: Expected) -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts after the run, and each check as {actual, expected, ok}."""
    with services.db.engine.connect() as conn:
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
def run(url: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    n = args.customers
    kind = args.db
    result: dict[str, Any] = {"customers": n, "db": kind}

    loadavg_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews timings
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
    phases = Phases(timer, args.time_limit)
    profiler = cProfile.Profile() if args.cprofile else None
    baseline_writes = table_writes(services.db)  # the load and baselines wrote too; subtract them
    engine_peak_reset = reset_peak_rss()
    timed_out = False
    maintenance_seconds = 0.0
    try:
        with instrumented(services, phases, progress) as (runtime, provider):
            progress.say("engine: activating and advancing the manual clock", force=True)
            if profiler:
                profiler.enable()
            cpu_before = process_cpu_seconds()
            started = time.perf_counter()
            try:
                with phases.measure("other"):
                    campaign_id = int(services.campaigns.create(campaign_document())["id"])
                    services.campaigns.transition(campaign_id, "activate")
                    services.advancer.advance_to(FIRE_AT)
                    if args.vacuum_between:  # during the simulated day; not billed to the engine
                        maintenance_seconds = maintain(url)
                        progress.say(f"maintenance between the advances: {maintenance_seconds:.1f} s", force=True)
                    services.advancer.advance_to(FIRE_AT + timedelta(days=1, minutes=1))
            except TimeLimit:
                timed_out = True
            engine_seconds = time.perf_counter() - started - maintenance_seconds
            phases.seconds["other"] -= maintenance_seconds
            python_cpu = process_cpu_seconds() - cpu_before
            if profiler:
                profiler.disable()
        engine_peak = vm_hwm_mb() if engine_peak_reset else None
        server_cpu = backend_cpu_seconds(services.db)
        writes_before = baseline_writes
        writes_after = table_writes(services.db)
        if timed_out:
            progress.say(f"engine stopped by --time-limit after {engine_seconds:.1f} s", force=True)
            counts, checks = {}, {}
        else:
            progress.say(f"engine done in {engine_seconds:.1f} s; verifying", force=True)
            counts, checks = verify(services, campaign_id, expected)
    finally:
        services.close()

    # "other" was measured around everything; the named phases nested inside it are taken out again.
    nested = sum(seconds for phase, seconds in phases.seconds.items() if phase != "other")
    breakdown = {phase: round(phases.seconds.get(phase, 0.0), 3) for phase in PHASES if phase != "other"}
    breakdown["other"] = round(phases.seconds["other"] - nested, 3)
    for phase, seconds in phases.seconds.items():
        if phase not in breakdown:
            breakdown[phase] = round(seconds, 3)

    writes = engine_writes(writes_before, writes_after, n)
    engine_rate = n / engine_seconds
    raw_rate = n / raw_seconds
    loop_rate = sample / loop_seconds
    result.update(
        {
            # A run stopped by --time-limit has no throughput: only `progress` says how far it got.
            "seconds": round(engine_seconds, 3),
            "customers_per_s": None if timed_out else round(engine_rate, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "raw_sql_ratio": None if timed_out else round(engine_rate / raw_rate, 4),
            "per_customer_ratio": None if timed_out else round(engine_rate / loop_rate, 2),
            "breakdown": breakdown,
            "counts": counts,
            "checks": checks,
            "ok": not timed_out and all(check["ok"] for check in checks.values()),
            "completed": not timed_out,
            "progress": {
                "customers_through": dict(runtime.rows),
                "messages_delivered": provider.sent if provider.hooked else None,
            },
            "cpu": {
                "python_seconds": round(python_cpu, 2),
                "postgres_backend_seconds": None if server_cpu is None else round(server_cpu, 2),
                "note": "wall minus both CPU figures ≈ time neither process ran (I/O, fsync, other load)",
            },
            "row_writes": writes,
            "engine_peak_rss_mb": round(engine_peak, 1) if engine_peak is not None else None,
            "rss_after_load_mb": round(rss_after_load, 1),
            "load": {
                "seconds": round(load_seconds, 3),
                "customers_per_s": round(n / load_seconds, 1),
                "method": "COPY" if kind == "postgres" else "executemany",
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
            "chunks": dict(runtime.chunks),
            "settings": {
                "chunk_size": args.chunk_size,
                "delivery_chunk_size": args.delivery_chunk_size,
                "vacuum_between": args.vacuum_between,
            },
            "maintenance_seconds": round(maintenance_seconds, 3) if args.vacuum_between else None,
            "engine_source": engine_source(),
            "date": datetime.now(UTC).date().isoformat(),
            "environment": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "machine": platform.machine(),
                "loadavg_before": loadavg_before,
                "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            },
        }
    )
    if timer:
        result["statements"] = timer.top(args.profile_top)
        result["statement_seconds"] = round(timer.total_seconds(), 3)
    if plans:
        with open(args.explain_file, "w") as out:
            out.write("\n\n".join(plans))
        result["explained"] = {"file": args.explain_file, "plans": len(plans)}
    if profiler:
        profiler.dump_stats(args.cprofile)
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(30)
        print(buffer.getvalue(), file=sys.stderr)
        result["cprofile"] = args.cprofile
    return result


# -- output ---------------------------------------------------------------------------------------------
def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    summary = RichTable(title=f"Engine benchmark: {result['customers']:,} customers on {result['db']}")
    summary.add_column("metric")
    summary.add_column("value", justify="right")

    def number(value: float | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    label = "engine seconds (activation → last advance)"
    if not result["completed"]:
        label += " — STOPPED by --time-limit"
    summary.add_row(label, f"{result['seconds']:.2f}")
    summary.add_row("customers / s", number(result["customers_per_s"], ",.0f"))
    summary.add_row("peak RSS, whole process (MB)", f"{result['peak_rss_mb']:.0f}")
    if result.get("engine_peak_rss_mb") is not None:
        summary.add_row("peak RSS during the engine run (MB)", f"{result['engine_peak_rss_mb']:.0f}")
    summary.add_row("raw_sql_ratio (engine ÷ raw INSERT … SELECT)", number(result["raw_sql_ratio"], ".3f"))
    summary.add_row(
        f"per_customer_ratio (engine ÷ loop, {result['per_customer']['sample']:,} sample)",
        number(result["per_customer_ratio"], ".1f"),
    )
    backend_cpu = number(result["cpu"]["postgres_backend_seconds"], ".1f")
    summary.add_row("CPU: python / postgres backends (s)", f"{result['cpu']['python_seconds']:.1f} / {backend_cpu}")
    summary.add_row("load (s)", f"{result['load']['seconds']:.2f}")
    summary.add_row("raw INSERT … SELECT (s)", f"{result['raw_sql']['seconds']:.3f}")
    summary.add_row("per-customer loop (customers / s)", f"{result['per_customer']['customers_per_s']:,.0f}")
    console.print(summary)

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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000, help="customers in the base (default 10,000)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=Settings.model_fields["chunk_size"].default,
        help="engine chunk size (TIDINGS_CHUNK_SIZE; default %(default)s)",
    )
    parser.add_argument(
        "--delivery-chunk-size",
        type=int,
        default=Settings.model_fields["delivery_chunk_size"].default,
        help="delivery chunk size (default %(default)s)",
    )
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
