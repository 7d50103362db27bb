"""Timer lateness on the system clock: how late after a wait ends are its customers released and their messages
queued, when a whole base is due in the same minute.

    python -m bench.latency --customers 100000 --db postgres --json

A fresh database gets N customers (``bench.engine``'s synthetic base) and the campaign ``date_has_come`` (due at
once) → ``wait_until_date`` T → ``send_email`` (sandbox). T is the first whole minute at least ``--lead`` seconds
after activation, so every customer has entered and waits, due at T, before T comes; the bench fails if they had
not. ``--workers W`` ``tidings worker`` processes (default 1) run the engine as production does; ``--workers 0``
runs the scheduler loop in this process instead, as ``tidings run`` does. Per customer, against T:

* release lateness — the ``at`` of the wait node's trace row (``performed``);
* queueing lateness — its message's ``created_at``;
* sent lateness — its message's ``sent_at``;

each as p50 / p99 / max. Those times are the ``now`` of the chunk that wrote the row, i.e. when the chunk started;
its rows become visible when it commits. So the bench also polls (every ``--poll-seconds``) and reports when it
first saw every message queued and every message sent.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from bench.common import (
    Launch,
    Milestones,
    Progress,
    activate_armed,
    add_engine_options,
    checkpoint,
    cpu_between,
    cpu_sample,
    database_name,
    fresh_database,
    load_average,
    load_customers,
    provenance,
    tidings_workers,
    wait_until,
    watch,
)
from tidings.engine.worker import run_loop
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.database import Database
from tidings.store.tables import journey_trace, messages


def campaign_document(launch: Launch, due: datetime) -> dict[str, Any]:
    return {
        "name": "Latency benchmark: the whole base due in one minute",
        "trigger": {"id": "trigger", **launch.trigger()},
        "nodes": [
            {"id": "wait", **wait_until(due)},
            {
                "id": "email",
                "type": "send_email",
                "config": {"subject": "Hello {{ customer.first_name }}", "body_html": "<p>It is time.</p>"},
            },
        ],
        "edges": [{"source": "trigger", "target": "wait"}, {"source": "wait", "target": "email"}],
    }


def due_minute(launch: Launch, lead: float) -> datetime:
    """The first whole minute at least ``lead`` seconds from now, in the account's time zone."""
    earliest = datetime.now(launch.at.tzinfo) + timedelta(seconds=lead)
    minute = earliest.replace(second=0, microsecond=0)
    return minute if minute >= earliest else minute + timedelta(minutes=1)


def settings_env(url: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "TIDINGS_DATABASE_URL": url,
        "TIDINGS_CLOCK": "system",
        "TIDINGS_RUNTIME": "direct",
        "TIDINGS_CHUNK_SIZE": str(args.chunk_size),
        "TIDINGS_DELIVERY_CHUNK_SIZE": str(args.delivery_chunk_size),
        "TIDINGS_TICK_SECONDS": str(args.tick_seconds),
    }


@contextmanager
def engine_processes(url: str, args: argparse.Namespace) -> Iterator[tuple[list[int], Any]]:
    """The engine on the system clock, ready: ``--workers`` ``tidings worker`` processes, or (0) the scheduler loop
    in a thread of this process as ``tidings run`` starts it. Yields the worker pids (none in-process) and a check
    that raises if a worker died; stops them on the way out."""
    if args.workers:
        with tidings_workers(args.workers, settings_env(url, args)) as workers:
            yield workers.pids, workers.check
        return
    settings = Settings(
        database_url=url,
        clock="system",
        chunk_size=args.chunk_size,
        delivery_chunk_size=args.delivery_chunk_size,
        tick_seconds=args.tick_seconds,
    )
    services = Services.build(settings)
    services.start()
    stop = threading.Event()
    loop = threading.Thread(
        target=run_loop, args=(services.scheduler, stop, settings.tick_seconds), name="tidings-worker", daemon=True
    )
    loop.start()

    def check() -> None:
        if not loop.is_alive():
            raise RuntimeError("the scheduler loop stopped")

    try:
        yield [], check
    finally:
        stop.set()
        loop.join(timeout=120)
        services.close()


def summary(lateness: list[float]) -> dict[str, Any]:
    """Count, p50, p99 and max (nearest rank) of lateness in seconds; min too (negative: early)."""
    if not lateness:
        return {"count": 0, "p50_s": None, "p99_s": None, "max_s": None, "min_s": None}
    ordered = sorted(lateness)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3)

    return {
        "count": len(ordered),
        "p50_s": rank(0.50),
        "p99_s": rank(0.99),
        "max_s": round(ordered[-1], 3),
        "min_s": round(ordered[0], 3),
    }


def lateness(db: Database, campaign_id: int, due: datetime) -> dict[str, list[float]]:
    """Per customer, seconds from ``due`` to its release, its message's queueing and its sending."""
    released = select(journey_trace.c.at).where(
        journey_trace.c.campaign_id == campaign_id,
        journey_trace.c.node_id == "wait",
        journey_trace.c.outcome == "performed",
    )
    queued = select(messages.c.created_at).where(messages.c.campaign_id == campaign_id)
    sent = select(messages.c.sent_at).where(messages.c.campaign_id == campaign_id, messages.c.sent_at.is_not(None))
    with db.engine.connect() as conn:
        return {
            name: [(moment - due).total_seconds() for moment in conn.execute(query).scalars()]
            for name, query in (("release", released), ("queueing", queued), ("sent", sent))
        }


def run(url: str, args: argparse.Namespace, progress: Progress) -> dict[str, Any]:
    n = args.customers
    loadavg_before = load_average()
    db = Database.open(url)
    try:
        expected = load_customers(db, n, progress=progress)
        checkpoint(db)
        launch = Launch.now(db)
    finally:
        db.dispose()
    progress.say(f"loaded {n:,} customers", force=True)
    database = database_name(url)
    poll_db = Database.open(url)
    try:
        with engine_processes(url, args) as (pids, check), poll_db.engine.connect() as poll:
            own = [int(poll.execute(text("SELECT pg_backend_pid()")).scalar_one())] if database else []
            poll.rollback()
            cpu_start = cpu_sample(database, pids, skip=own)
            due = due_minute(launch, args.lead)
            campaign_id = activate_armed(url, campaign_document(launch, due), launch)
            progress.say(f"campaign {campaign_id} active; every customer is due at {due.isoformat()}", force=True)
            deadline = None if args.time_limit is None else due.timestamp() + args.time_limit
            seen: Milestones = watch(
                poll, campaign_id, n, every=args.poll_seconds, deadline=deadline, check=check, progress=progress
            )
            cpu = cpu_between(cpu_start, cpu_sample(database, pids, skip=own))
    finally:
        poll_db.dispose()
    db = Database.open(url)
    try:
        late = lateness(db, campaign_id, due)
    finally:
        db.dispose()

    def after_due(moment: float | None) -> float | None:
        return None if moment is None else round(moment - due.timestamp(), 3)

    wanted = {"release": n, "queueing": expected.reachable, "sent": expected.reachable}
    checks = {
        "entered_before_due": {
            "actual": after_due(seen.entered),
            "expected": "< 0",
            "ok": seen.entered is not None and seen.entered < due.timestamp(),
        },
        **{
            f"{name}_rows": {"actual": len(late[name]), "expected": count, "ok": len(late[name]) == count}
            for name, count in wanted.items()
        },
    }
    return {
        "customers": n,
        "db": args.db,
        "workers": args.workers,
        "due_at": due.isoformat(),
        "lead_s": args.lead,
        "release": summary(late["release"]),
        "queueing": summary(late["queueing"]),
        "sent": summary(late["sent"]),
        "seen": {
            "all_entered_s": after_due(seen.entered),
            "all_queued_s": after_due(seen.moved),
            "all_sent_s": after_due(seen.delivered),
            "poll_seconds": args.poll_seconds,
        },
        "completed": seen.delivered is not None,
        "checks": checks,
        "ok": seen.delivered is not None and all(check["ok"] for check in checks.values()),
        "cpu": {
            "python_seconds": cpu["worker_seconds"] if args.workers else cpu["this_process_seconds"],
            **cpu,
            "note": "from activation until every message was sent; python: the workers, or this process with "
            "--workers 0 (its polling included)",
        },
        "settings": {
            "chunk_size": args.chunk_size,
            "delivery_chunk_size": args.delivery_chunk_size,
            "tick_seconds": args.tick_seconds,
        },
        **provenance(url, loadavg_before),
    }


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    where = f"{result['workers']} tidings worker(s)" if result["workers"] else "the scheduler loop in this process"
    table = Table(
        title=f"Timer lateness: {result['customers']:,} customers due at {result['due_at']} ({result['db']}, {where})"
    )
    for column in ("seconds after the due minute", "rows", "p50", "p99", "max"):
        table.add_column(column, justify="left" if column.startswith("seconds") else "right")

    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    for name, label in (("release", "released (wait node's trace)"), ("queueing", "queued"), ("sent", "sent")):
        figures = result[name]
        percentiles = (seconds(figures[key]) for key in ("p50_s", "p99_s", "max_s"))
        table.add_row(label, f"{figures['count']:,}", *percentiles)
    console.print(table)
    seen = result["seen"]
    cpu = result["cpu"]
    environment = result["environment"]
    console.print(
        f"seen by polling every {seen['poll_seconds']} s: all queued at +{seen['all_queued_s']} s, all sent at "
        f"+{seen['all_sent_s']} s (all entered at {seen['all_entered_s']} s)\n"
        f"CPU s: python {cpu['python_seconds']} / PG backends {cpu['postgres_backend_seconds']} / PG background "
        f"{cpu['postgres_background_seconds']}\n"
        f"{result['date']}, commit {(result['engine_source']['commit'] or '?')[:10]}, {environment['cpu']} "
        f"({environment['cores']} cores), load average {environment['loadavg_before']} → {environment['loadavg_after']}"
    )
    for name, check in result["checks"].items():
        if not check["ok"]:
            console.print(f"[red]✗ {name}: {check['actual']} (expected {check['expected']})[/red]")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="customers due together (default %(default)s)")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="W",
        help="`tidings worker` processes (default %(default)s); 0: the scheduler loop in this process, as "
        "`tidings run` runs it",
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=60.0,
        help="the due minute is the first whole minute at least this many seconds after activation: time for "
        "everyone to enter (default %(default)s)",
    )
    add_engine_options(parser, poll_seconds=0.2, workers="the workers (or this process's loop)")
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="give up this long after the due minute (reports what happened so far, exits 2)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    if args.workers < 0:
        parser.error("--workers must be 0 (this process) or more")
    if args.workers > 1 and args.db != "postgres":
        parser.error("several workers need --db postgres: SQLite serialises its writers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    progress = Progress(enabled=not args.quiet)
    with fresh_database(args.db, keep=args.keep_db) as url:
        result = run(url, args, progress)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print_table(result)
    if not result["completed"]:
        print("[bench] stopped by --time-limit before every message was sent", file=sys.stderr)
        return 2
    if not result["ok"]:
        failed = [name for name, check in result["checks"].items() if not check["ok"]]
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
