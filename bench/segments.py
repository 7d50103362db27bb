"""Segment filter benchmark: one condition tree over N customers, compiled to SQL vs evaluated in Python.

    python -m bench.segments --customers 100000 --db postgres --json

A fresh database is migrated and filled with N customers, ~5 orders and ~3 events each, channel
subscriptions and an audience, streamed in chunks through ``dialect.bulk_load`` (COPY on PostgreSQL). The tree
has 8 conditions — text, number, subscription, an order aggregate, an event count, an order sum, audience
membership and a custom attribute — and is compiled by ``ConditionCompiler`` into one ``SELECT count(*)``
(best of 3 runs). The same tree is then evaluated in Python by the reference evaluator of the tests over the
same rows, read in chunks of customers (``python_eval_ratio`` = Python seconds ÷ SQL seconds per customer,
measured in the same run; ``--python-customers K`` evaluates only the first K in Python, to keep a 1M run
short). The counts must agree, or the bench exits 1. Memory stays flat: nothing is materialised whole.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import TypeAdapter
from sqlalchemy import Float, Table, func, insert, select, text, type_coerce
from tests.segments.reference import Customer, Event, Order, Reference

from tidings.model.catalog import Catalog
from tidings.model.conditions import Condition
from tidings.segments.compiler import ConditionCompiler
from tidings.store.database import Database
from tidings.store.migrate import upgrade
from tidings.store.tables import (
    audience_members,
    audiences,
    channel_subscriptions,
    custom_fields,
    customers,
    events,
    orders,
)
from tidings.store.types import to_micros

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
TIMEZONE = "Europe/Riga"
PG_ADMIN = os.environ.get("TIDINGS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CITIES = ("Riga", "Tallinn", "Vilnius", "Helsinki", "Oslo", "Warsaw", "Berlin")
TIERS = ("gold", "silver", "bronze", None)
CHUNK = 50_000

TREE: dict[str, Any] = {
    "all": [
        {"field": "city", "op": "in", "value": ["Riga", "Tallinn", "Vilnius", "Helsinki"]},
        {"field": "points_balance", "op": "gte", "value": 20},
        {"subscription": {"channel": "email"}, "op": "subscribed"},
        {"orders": {"kind": "any", "metric": "count", "period": {"last_days": 365}}, "op": "gte", "value": 2},
        {
            "any": [
                {"event": {"name": "viewed_product", "period": {"last_days": 30}}, "op": "at_least", "value": 2},
                {"orders": {"metric": "sum", "status": "paid"}, "op": "gte", "value": 600},
            ]
        },
        {"not": {"audience": 1}},
        {"not": {"field": "attributes.tier", "op": "equals", "value": "bronze"}},
    ]
}


def leaf_count(node: Any) -> int:
    if isinstance(node, dict) and ("all" in node or "any" in node):
        return sum(leaf_count(child) for child in node.get("all", node.get("any", [])))
    if isinstance(node, dict) and "not" in node:
        return leaf_count(node["not"])
    return 1


# -- databases ------------------------------------------------------------------------------------------
def _pg(name: str) -> str:
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}"


@contextmanager
def fresh_database(kind: str, keep: bool) -> Iterator[Database]:
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="tidings_segments_"))
        url = f"sqlite:///{directory / 'bench.db'}"
    else:
        name = f"tidings_bench_segments_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = _pg(name)
    db = Database.open(url)
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        if keep:
            print(f"[bench] kept {url}", file=sys.stderr)
        elif kind == "sqlite":
            for path in directory.iterdir():
                path.unlink()
            directory.rmdir()
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# -- data -----------------------------------------------------------------------------------------------
def micros(moment: datetime) -> int:
    return to_micros(moment)


def generate(db: Database, n: int, orders_each: int, events_each: int, say: Any) -> dict[str, int]:
    """Stream the synthetic base in; returns row counts. Deterministic (seeded)."""
    rng = random.Random(20260601)
    as_json = json.dumps if db.is_postgres else (lambda value: value)  # COPY takes JSON text
    created = micros(NOW - timedelta(days=800))
    counts = {"customers": 0, "orders": 0, "events": 0}

    def customer_rows() -> Iterator[tuple[Any, ...]]:
        for ident in range(1, n + 1):
            counts["customers"] += 1
            tier = TIERS[rng.randrange(4)]
            yield (
                ident,
                f"c{ident}",
                f"customer{ident}@example.com",
                CITIES[rng.randrange(len(CITIES))],
                date(1960 + rng.randrange(45), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                rng.randrange(0, 200),
                as_json({} if tier is None else {"tier": tier}),
                created,
                created,
            )

    def order_rows() -> Iterator[tuple[Any, ...]]:
        ident = 0
        for customer in range(1, n + 1):
            for _ in range(rng.randrange(2 * orders_each + 1)):
                ident += 1
                counts["orders"] += 1
                placed = micros(NOW) - rng.randrange(730 * 86_400) * 1_000_000
                kind = "receipt" if rng.random() < 0.3 else "order"
                status = "cancelled" if rng.random() < 0.1 else "paid"
                yield (ident, f"o{ident}", kind, customer, status, f"s{rng.randrange(20)}", rng.randrange(5, 400),
                       placed, placed if status == "paid" else None)  # fmt: skip

    def event_rows() -> Iterator[tuple[Any, ...]]:
        for customer in range(1, n + 1):
            for _ in range(rng.randrange(2 * events_each + 1)):
                counts["events"] += 1
                occurred = micros(NOW) - rng.randrange(60 * 86_400) * 1_000_000
                name = "viewed_product" if rng.random() < 0.7 else "added_to_cart"
                yield (customer, name, as_json({"sku": f"p{rng.randrange(100)}"}), occurred, occurred, "bench")

    def subscription_rows() -> Iterator[tuple[Any, ...]]:
        for customer in range(1, n + 1, 9):  # every 9th customer has opted out of e-mail
            yield (customer, "email", "N", created)

    def audience_rows() -> Iterator[tuple[Any, ...]]:
        for customer in range(1, n + 1, 13):
            yield (1, customer, created)

    loads: list[tuple[Table, tuple[str, ...], Iterator[tuple[Any, ...]]]] = [
        (customers, ("id", "external_id", "email", "city", "birthday", "points_balance", "attributes", "created_at",
                     "updated_at"), customer_rows()),
        (orders, ("id", "external_id", "kind", "customer_id", "status", "store_code", "total", "placed_at", "paid_at"),
         order_rows()),
        (events, ("customer_id", "name", "properties", "occurred_at", "received_at", "ingest_batch"), event_rows()),
        (channel_subscriptions, ("customer_id", "channel", "status", "updated_at"), subscription_rows()),
        (audience_members, ("audience_id", "customer_id", "added_at"), audience_rows()),
    ]  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(insert(audiences).values(id=1, name="Bench audience", created_at=NOW, updated_at=NOW))
        conn.execute(insert(custom_fields).values(code="tier", name="Tier", type="text", created_at=NOW))
    for table, columns, rows in loads:
        while True:
            with db.engine.begin() as conn:  # one transaction per chunk: memory and WAL stay bounded
                loaded = db.dialect.bulk_load(conn, table, columns, islice(rows, CHUNK))
            say(f"{table.name}: {counts}")
            if loaded < CHUNK:
                break
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return counts


# -- the two evaluations --------------------------------------------------------------------------------
def compiled_count(
    db: Database, condition: Any, up_to: int | None = None, settings: tuple[str, ...] = ()
) -> tuple[int, float]:
    where = ConditionCompiler(NOW, TIMEZONE).compile(condition)
    statement = select(func.count()).select_from(customers).where(where)
    if up_to is not None:
        statement = statement.where(customers.c.id <= up_to)
    with db.engine.connect() as conn:
        for setting in settings:
            conn.execute(text(setting))
        started = time.perf_counter()
        matched = int(conn.execute(statement).scalar_one())
        return matched, time.perf_counter() - started


def python_count(db: Database, condition: Any, n: int, chunk: int = 20_000) -> tuple[int, float]:
    """Read the same rows in chunks of customers, build reference records and evaluate the tree in Python."""
    reference = Reference(NOW, TIMEZONE, set())
    matched = 0
    started = time.perf_counter()
    with db.engine.connect() as conn:
        for low in range(1, n + 1, chunk):
            high = min(low + chunk - 1, n)
            people: dict[int, Customer] = {}
            rows = conn.execute(
                select(customers.c.id, customers.c.city, customers.c.attributes,
                       type_coerce(customers.c.points_balance, Float)).where(customers.c.id.between(low, high))
            )  # fmt: skip
            for ident, city, attributes, points in rows:
                people[ident] = Customer(ident, {"city": city, "points_balance": points}, attributes=attributes)
            for ident, kind, status, store, total, placed in conn.execute(
                select(orders.c.customer_id, orders.c.kind, orders.c.status, orders.c.store_code,
                       type_coerce(orders.c.total, Float), orders.c.placed_at)
                .where(orders.c.customer_id.between(low, high))
            ):  # fmt: skip
                people[ident].orders.append(Order(kind, status, store, Decimal(total), placed))
            for ident, name, properties, occurred in conn.execute(
                select(events.c.customer_id, events.c.name, events.c.properties, events.c.occurred_at).where(
                    events.c.customer_id.between(low, high)
                )
            ):
                people[ident].events.append(Event(name, properties, occurred))
            subscriptions = channel_subscriptions.c
            for ident, channel, status in conn.execute(
                select(subscriptions.customer_id, subscriptions.channel, subscriptions.status).where(
                    subscriptions.customer_id.between(low, high)
                )
            ):
                people[ident].channels[channel] = status
            for audience, ident in conn.execute(
                select(audience_members.c.audience_id, audience_members.c.customer_id).where(
                    audience_members.c.customer_id.between(low, high)
                )
            ):
                people[ident].audiences.add(audience)
            matched += sum(1 for person in people.values() if reference.selects(condition, person))
    return matched, time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segments", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--orders", type=int, default=5, help="average orders per customer")
    parser.add_argument("--events", type=int, default=3, help="average events per customer")
    parser.add_argument("--runs", type=int, default=3, help="SQL runs; the best is reported")
    parser.add_argument(
        "--python-customers",
        type=int,
        default=None,
        help="evaluate Python over the first K customers only (rates compared)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[bench {time.perf_counter() - started:7.1f}s] {message}", file=sys.stderr, flush=True)

    with fresh_database(args.db, args.keep) as db:
        load_started = time.perf_counter()
        counts = generate(db, args.customers, args.orders, args.events, say)
        load_seconds = time.perf_counter() - load_started
        catalog = Catalog(custom_fields={"tier": "text"}, audiences=frozenset({1}))
        condition = TypeAdapter(Condition).validate_python(TREE, context={"catalog": catalog})
        runs = [compiled_count(db, condition) for _ in range(args.runs)]
        matched, seconds = min(runs, key=lambda run: run[1])
        say(f"SQL: {matched:,} of {args.customers:,} in {seconds:.3f}s; evaluating in Python …")
        # PostgreSQL JIT-compiles a plan whose estimated cost is high; the subplans make it so. Measured apart.
        jit_off_seconds = None
        if db.is_postgres:
            jit_off = [compiled_count(db, condition, settings=("SET jit = off",)) for _ in range(args.runs)]
            jit_off_seconds = min(run[1] for run in jit_off)
        sample = min(args.python_customers or args.customers, args.customers)
        python_matched, python_seconds = python_count(db, condition, sample)
        expected_python = matched if sample == args.customers else compiled_count(db, condition, sample)[0]
    result = {
        "db": args.db,
        "customers": counts["customers"],
        "orders": counts["orders"],
        "events": counts["events"],
        "conditions": leaf_count(TREE),
        "matched": matched,
        "seconds": round(seconds, 3),
        "customers_per_s": round(args.customers / seconds),
        "sql_runs_seconds": [round(run[1], 3) for run in runs],
        "seconds_jit_off": None if jit_off_seconds is None else round(jit_off_seconds, 3),
        "python_customers": sample,
        "python_seconds": round(python_seconds, 2),
        "python_matched": python_matched,
        "python_eval_ratio": round((python_seconds / sample) / (seconds / args.customers), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_seconds": round(load_seconds, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(key) for key in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    if python_matched != expected_python or not 0 < matched < args.customers:
        print(f"[bench] MISMATCH or degenerate result: SQL {expected_python}, Python {python_matched}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
