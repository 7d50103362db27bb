"""Campaign report benchmark: ``GET /api/v1/campaigns/{id}/report`` over a campaign of N customers.

    python -m bench.report --customers 100000 --db postgres --json

A fresh database is migrated and filled, streamed through ``dialect.bulk_load`` (COPY on PostgreSQL), with what
a campaign ``trigger → control_group (10 %) → ab_test (2 variants, sample 10,000) → e1 | e2 → e3`` leaves
behind after it has run for N customers entering over one day: entries (control ones flagged), the trace of
every node passed, two e-mails per main-group customer (≈ 96 % delivered, ≈ 35 % of those opened), the A/B
assignments and its decision, and ≈ 1 order per customer placed between 30 days before and 20 days after entry
(5 % cancelled). Every customer's data comes from a generator seeded by the customer's number, so each table is
streamed on its own and the expected figures are computed in a separate pass without holding the data.

Then the orders are attributed (``attribute_all``, one set-at-a-time pass, timed) and the report is built by
the endpoint function itself (``tidings.api.reports.report``), cold once and warm ``--repeat`` times. The
report's figures are checked against the ones computed in Python (the campaign's orders: last touch within 10
days; both groups of the control-group table: orders within 10 days after entry); a mismatch prints both and
exits 1.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bench.common import Progress, StatementTimer, engine_source, fresh_database, load_customers, peak_rss_mb
from tidings.actions.control_group import bucket
from tidings.api.reports import report
from tidings.document.validation import parse_document
from tidings.services import Services
from tidings.settings import Settings
from tidings.store import campaigns as campaign_sql
from tidings.store.attribution import attribute_all
from tidings.store.database import Database
from tidings.store.tables import (
    ab_assignments,
    ab_decisions,
    ab_tests,
    customers,
    entries,
    journey_trace,
    messages,
    orders,
)
from tidings.store.types import to_micros

CAMPAIGN_ID = 1
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW = 10 * DAY
CONTROL_BASIS_POINTS = 1_000  # 10 %
SAMPLE = 10_000
DECIDED_AT = T0 + 3 * DAY
CHUNK = 20_000


def campaign_document() -> dict[str, Any]:
    def mail(node_id: str) -> dict[str, Any]:
        return {"id": node_id, "type": "send_email", "config": {"subject": "Hi", "body_html": "<p>Hi</p>"}}

    return {
        "name": "Benchmark: control group, A/B test, three e-mails",
        "settings": {"attribution_days": 10},
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [
            {"id": "cg", "type": "control_group", "config": {"percent": 10}},
            {"id": "ab", "type": "ab_test", "config": {"variants": 2, "sample_size": SAMPLE, "evaluation_days": 3}},
            mail("e1"),
            mail("e2"),
            {"id": "w1", "type": "wait", "config": {"amount": 2, "unit": "days"}},
            mail("e3"),
        ],
        "edges": [
            {"source": "trigger", "target": "cg"},
            {"source": "cg", "target": "ab"},
            {"source": "ab", "target": "e1"},
            {"source": "ab", "target": "e2"},
            {"source": "e1", "target": "w1"},
            {"source": "e2", "target": "w1"},
            {"source": "w1", "target": "e3"},
        ],
    }


# -- one customer's world, regenerated identically for every table ----------------------------------------
@dataclass
class Message:
    id: int
    node_id: str
    sent: datetime
    delivered: datetime | None
    opened: datetime | None
    clicked: datetime | None


@dataclass
class Order:
    id: int
    placed: datetime
    cents: int
    cancelled: bool


@dataclass
class World:
    customer_id: int
    entered: datetime
    control: bool
    variant: int | None  # dealt in the A/B sample
    messages: list[Message] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


def world(number: int, customer_id: int, main_rank: int | None, n: int) -> World:
    """Customer ``number`` (1..n) and what the campaign and the shop did with them."""
    rng = random.Random(number)
    entered = T0 + timedelta(seconds=number * 86_400 // n)
    control = main_rank is None
    variant = None if control or main_rank is None or main_rank >= SAMPLE else main_rank % 2 + 1
    customer = World(customer_id, entered, control, variant)
    if not control:
        first = "e1" if variant == 1 else "e2"
        for k, (node_id, at) in enumerate(((first, entered), ("e3", entered + 2 * DAY))):
            delivered = at + timedelta(minutes=1) if rng.random() < 0.96 else None
            opened = (
                delivered + timedelta(seconds=rng.randrange(172_800)) if delivered and rng.random() < 0.35 else None
            )
            clicked = opened + timedelta(minutes=2) if opened and rng.random() < 0.2 else None
            customer.messages.append(Message(2 * number + k, node_id, at, delivered, opened, clicked))
    count = rng.choices((0, 1, 2, 3), weights=(40, 35, 15, 10))[0]
    for k in range(count):
        placed = entered + timedelta(seconds=rng.randrange(-30 * 86_400, 20 * 86_400))
        customer.orders.append(Order(4 * number + k, placed, rng.randrange(500, 20_000), rng.random() < 0.05))
    return customer


def worlds(ids: Sequence[int]) -> Iterator[World]:
    """Every customer's world, in entry order; main customers are ranked for the A/B sample."""
    n = len(ids)
    main_rank = 0
    for number, customer_id in enumerate(ids, start=1):
        control = bucket(customer_id, CAMPAIGN_ID) < CONTROL_BASIS_POINTS
        yield world(number, customer_id, None if control else main_rank, n)
        main_rank += not control


# -- rows per table ---------------------------------------------------------------------------------------
def _m(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


ENTRY_COLUMNS = ("id", "campaign_id", "version", "customer_id", "status", "entered_at", "is_control", "trigger_batch")
TRACE_COLUMNS = ("campaign_id", "version", "entry_id", "customer_id", "node_id", "arrived_at", "at", "outcome", "port")
MESSAGE_COLUMNS = (
    "id",
    "campaign_id",
    "version",
    "entry_id",
    "node_id",
    "customer_id",
    "channel",
    "recipient",
    "status",
    "send_after",
    "created_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
)
ORDER_COLUMNS = ("id", "external_id", "kind", "customer_id", "status", "total", "placed_at")
ASSIGNMENT_COLUMNS = ("campaign_id", "node_id", "round", "entry_id", "customer_id", "variant", "assigned_at")


def entry_rows(ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    for number, w in enumerate(worlds(ids), start=1):
        yield (number, CAMPAIGN_ID, 1, w.customer_id, "active", _m(w.entered), w.control, "bench")


def trace_rows(ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    for number, w in enumerate(worlds(ids), start=1):
        at = _m(w.entered)
        yield (CAMPAIGN_ID, 1, number, w.customer_id, "trigger", at, at, "performed", "out")
        yield (CAMPAIGN_ID, 1, number, w.customer_id, "cg", at, at, "performed", "out")
        if not w.control:
            yield (CAMPAIGN_ID, 1, number, w.customer_id, "ab", at, at, "performed", "variant")
        for message in w.messages:
            sent = _m(message.sent)
            yield (CAMPAIGN_ID, 1, number, w.customer_id, message.node_id, sent, sent, "performed", "out")


def message_rows(ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    for number, w in enumerate(worlds(ids), start=1):
        for m in w.messages:
            status = "clicked" if m.clicked else "opened" if m.opened else "delivered" if m.delivered else "sent"
            sent = _m(m.sent)
            yield (
                m.id,
                CAMPAIGN_ID,
                1,
                number,
                m.node_id,
                w.customer_id,
                "email",
                f"customer{number}@example.com",
                status,
                sent,
                sent,
                sent,
                _m(m.delivered),
                _m(m.opened),
                _m(m.clicked),
            )


def order_rows(ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    for w in worlds(ids):
        for o in w.orders:
            status = "cancelled" if o.cancelled else "paid"
            yield (
                o.id,
                f"o{o.id}",
                "receipt",
                w.customer_id,
                status,
                f"{o.cents // 100}.{o.cents % 100:02d}",
                _m(o.placed),
            )


def assignment_rows(ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    for number, w in enumerate(worlds(ids), start=1):
        if w.variant is not None:
            yield (CAMPAIGN_ID, "ab", 1, number, w.customer_id, w.variant, _m(w.entered))


# -- what the report must say -----------------------------------------------------------------------------
@dataclass
class Expected:
    main_customers: int = 0
    control_customers: int = 0
    sent: int = 0
    delivered: int = 0
    credited_orders: int = 0
    credited_buyers: int = 0
    credited_cents: int = 0
    main_buyers: int = 0
    main_orders: int = 0
    main_cents: int = 0
    control_buyers: int = 0
    control_orders: int = 0
    control_cents: int = 0
    orders: int = 0
    messages: int = 0
    dealt: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0})


def expected_figures(ids: Sequence[int]) -> Expected:
    """Both groups: orders within 10 days after entry; the campaign's orders: last touch within 10 days."""
    expected = Expected()
    for w in worlds(ids):
        expected.orders += len(w.orders)
        expected.messages += len(w.messages)
        if w.variant is not None:
            expected.dealt[w.variant] += 1
        valid = [o for o in w.orders if not o.cancelled]
        inside = [o for o in valid if w.entered <= o.placed <= w.entered + WINDOW]
        if w.control:
            expected.control_customers += 1
            expected.control_orders += len(inside)
            expected.control_cents += sum(o.cents for o in inside)
            expected.control_buyers += bool(inside)
            continue
        expected.main_customers += 1
        expected.main_orders += len(inside)
        expected.main_cents += sum(o.cents for o in inside)
        expected.main_buyers += bool(inside)
        expected.sent += bool(w.messages)
        expected.delivered += any(m.delivered for m in w.messages)
        opens = [m.opened for m in w.messages if m.opened]
        credited = [o for o in valid if any(o.placed - WINDOW <= at <= o.placed for at in opens)]
        expected.credited_orders += len(credited)
        expected.credited_cents += sum(o.cents for o in credited)
        expected.credited_buyers += bool(credited)
    return expected


def check(body: dict[str, Any], expected: Expected) -> list[str]:
    main, control, orders_ = body["control_group"]["main"], body["control_group"]["control"], body["orders"]
    pairs = {
        "main.customers": (main["customers"], expected.main_customers),
        "control.customers": (control["customers"], expected.control_customers),
        "main.sent": (main["sent"], expected.sent),
        "main.delivered": (main["delivered"], expected.delivered),
        "main.buyers": (main["buyers"], expected.main_buyers),
        "main.receipts": (main["receipts"], expected.main_orders),
        "main.revenue": (round(main["revenue"] * 100), expected.main_cents),
        "control.buyers": (control["buyers"], expected.control_buyers),
        "control.receipts": (control["receipts"], expected.control_orders),
        "control.revenue": (round(control["revenue"] * 100), expected.control_cents),
        "orders.orders": (orders_["orders"], expected.credited_orders),
        "orders.buyers": (orders_["buyers"], expected.credited_buyers),
        "orders.revenue": (round(orders_["revenue"] * 100), expected.credited_cents),
        "ab.dealt": (body["ab_tests"][0]["dealt"], {f"variant-{k}": v for k, v in expected.dealt.items() if v}),
    }
    return [f"{name}: report {got!r} != expected {want!r}" for name, (got, want) in pairs.items() if got != want]


# -- the run ----------------------------------------------------------------------------------------------
def load(db: Database, table: Any, columns: Sequence[str], rows: Iterator[tuple[Any, ...]], progress: Progress) -> int:
    total = 0
    with db.engine.begin() as conn:
        while True:
            chunk = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == CHUNK:
                    break
            total += db.dialect.bulk_load(conn, table, columns, chunk)
            progress.say(f"loading {table.name}: {total:,}")
            if len(chunk) < CHUNK:
                return total


def run(url: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    db = Database.open(url)
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        load_customers(db, args.customers, progress=progress)
        with db.engine.connect() as conn:
            ids = list(conn.execute(select(customers.c.id).order_by(customers.c.id)).scalars())
        document = parse_document(campaign_document()).model_dump(mode="json", by_alias=True)
        with db.engine.begin() as conn:
            conn.execute(campaign_sql.insert_campaign(name=document["name"], now=T0))
            conn.execute(campaign_sql.insert_version(campaign_id=CAMPAIGN_ID, version=1, document=document, now=T0))
            conn.execute(campaign_sql.set_status(CAMPAIGN_ID, status="active", now=T0))
        counts = {
            "entries": load(db, entries, ENTRY_COLUMNS, entry_rows(ids), progress),
            "journey_trace": load(db, journey_trace, TRACE_COLUMNS, trace_rows(ids), progress),
            "messages": load(db, messages, MESSAGE_COLUMNS, message_rows(ids), progress),
            "orders": load(db, orders, ORDER_COLUMNS, order_rows(ids), progress),
            "ab_assignments": load(db, ab_assignments, ASSIGNMENT_COLUMNS, assignment_rows(ids), progress),
        }
        expected = expected_figures(ids)
        with db.engine.begin() as conn:
            conn.execute(
                ab_tests.insert().values(
                    campaign_id=CAMPAIGN_ID,
                    node_id="ab",
                    assigned=SAMPLE,
                    sample_full_at=DECIDED_AT - 3 * DAY,
                    decide_at=DECIDED_AT,
                    winner=2,
                )
            )
            counts_json = [
                {"variant": k, "port": f"variant-{k}", "customers": v, "value": 0} for k, v in expected.dealt.items()
            ]
            conn.execute(
                ab_decisions.insert().values(
                    campaign_id=CAMPAIGN_ID,
                    node_id="ab",
                    round=1,
                    criterion="opens",
                    winner=2,
                    counts=counts_json,
                    decided_at=DECIDED_AT,
                )
            )
        timings["load_seconds"] = time.perf_counter() - started
        _analyze(db)

        started = time.perf_counter()
        with db.engine.begin() as conn:
            credited = attribute_all(conn)
        timings["attribute_seconds"] = time.perf_counter() - started
        _analyze(db)
        progress.say(f"attributed {credited:,} orders in {timings['attribute_seconds']:.2f} s", force=True)

        services = Services.build(Settings(database_url=url))
        try:
            timer = StatementTimer(phase="report")
            timer.install(services.db)
            started = time.perf_counter()
            body = report(CAMPAIGN_ID, services).model_dump(mode="json")
            timings["report_cold_seconds"] = time.perf_counter() - started
            warm = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                report(CAMPAIGN_ID, services)
                warm.append(time.perf_counter() - started)
            timings["report_best_seconds"] = min(warm) if warm else timings["report_cold_seconds"]
            timings["report_median_seconds"] = sorted(warm)[len(warm) // 2] if warm else timings["report_cold_seconds"]
            statements = timer.top(12)
            runs = 1 + args.repeat
            for item in statements:
                item["seconds_per_report"] = round(item["seconds"] / runs, 4)
        finally:
            services.close()
        with db.engine.connect() as conn:
            stored = int(conn.execute(select(func.count()).select_from(orders)).scalar_one())
        problems = check(body, expected)
        return {
            "bench": "report",
            "db": "PostgreSQL" if db.is_postgres else "SQLite",
            "customers": args.customers,
            "rows": counts | {"orders": stored, "attributions": credited},
            **{name: round(value, 3) for name, value in timings.items()},
            "target_seconds": 2.0,
            "peak_rss_mb": round(peak_rss_mb()),
            "report": {k: body[k] for k in ("orders", "control_group")} | {"ab_tests": len(body["ab_tests"])},
            "statements": statements,
            "problems": problems,
            "source": engine_source(),
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
        }
    finally:
        db.dispose()


def _analyze(db: Database) -> None:
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("ANALYZE")
        cursor.close()
        raw.commit()
    finally:
        raw.close()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the campaign (default 100,000)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--repeat", type=int, default=5, help="warm report runs after the cold one (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress(enabled=not args.quiet)
    with fresh_database(args.db, keep=args.keep) as url:
        result = run(url, args, progress)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print("| db | customers | orders | attributions | attribute s | report cold s | report best s | median s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        rows = result["rows"]
        print(
            f"| {result['db']} | {result['customers']:,} | {rows['orders']:,} | {rows['attributions']:,} | "
            f"{result['attribute_seconds']:.3f} | {result['report_cold_seconds']:.3f} | "
            f"{result['report_best_seconds']:.3f} | {result['report_median_seconds']:.3f} |"
        )
        for item in result["statements"]:
            print(f"  {item['seconds_per_report']:7.4f} s  {item['sql'][:150]}", file=sys.stderr)
    if result["problems"]:
        print("\n".join(result["problems"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
