"""Delivery throughput: render, the sandbox, and SMTP.

    python -m bench.delivery --messages N [--smtp-messages M] [--db postgres|sqlite] [--chunk-size C] [--json]

A fresh database gets N customers (streamed in with ``dialect.bulk_load``, COPY on PostgreSQL) and one queued
personalised e-mail each (one ``INSERT … SELECT``; the campaign engine that would queue them is measured by
``bench.engine``). Then, in this one process (one worker):

* ``render_per_s`` — the pipeline's own rendering of up to 50,000 of those messages (Liquid subject and HTML
  body with the customer's fields, link tracking and the open pixel), rows already read: CPU only, one core;
* ``sandbox_per_s`` — ``Delivery`` delivering all N to the built-in mailbox, chunk by chunk, until none is
  left (claim, read, render, mailbox rows, statuses: everything a tick does);
* ``smtp_per_s`` — M more messages delivered through ``SmtpProvider`` (``--smtp-connections`` connections) to
  a local aiosmtpd in its own process (``bench.smtp_sink``: it prints the ``Message-ID`` of every message it
  accepts; the bench fails unless each of the M arrived exactly once);
* ``smtp_raw_per_s`` — in the same run, a bare aiosmtplib client sending one pre-built copy of the same e-mail
  over as many connections to the same server: the ceiling this machine puts on any SMTP client.

Prints a table (or ``--json``): messages, smtp_messages, render_per_s, sandbox_per_s, smtp_per_s, peak_rss_mb.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from aiosmtplib import SMTP
from sqlalchemy import func, literal, select, text

from bench.common import Progress, checkpoint, fresh_database, peak_rss_mb, process_cpu_seconds
from tidings.core.clock import ManualClock
from tidings.core.delivery import DeliveryRules, EmailContent
from tidings.delivery.channels.email import OutboundEmail
from tidings.delivery.channels.route import Chunk, Compose
from tidings.delivery.smtp import SmtpProvider
from tidings.engine.worker import settle
from tidings.rendering.templates import TemplateContext
from tidings.rendering.variables import MessageRef, build_contexts
from tidings.services import Services
from tidings.settings import Settings
from tidings.store import messages as message_sql
from tidings.store.account import load_account
from tidings.store.database import Database
from tidings.store.tables import customers, mailbox, messages
from tidings.store.types import Timestamp

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
CREATED_MICROS = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
FIRST = ("Ann", "Bob", "Chloe", "Dmitri", "Elina", "Frank", "Greta", "Hugo", "Ilze", "Janis")
LAST = ("Berzins", "Kalnins", "Ozols", "Jansons", "Liepa", "Smith", "Virtanen")
CITIES = ("Riga", "Tallinn", "Vilnius", "Helsinki", "Stockholm", "Warsaw", "Berlin")
COLUMNS = ("external_id", "email", "first_name", "last_name", "city", "points_balance", "created_at", "updated_at")

SUBJECT = "{{ customer.first_name }}, your {{ customer.city }} winter offer"
BODY = """<html><head><style>p { font-family: sans-serif; }</style></head><body>
<h1>Hello {{ customer.first_name }} {{ customer.last_name }}!</h1>
<p>Our winter sale in {{ customer.city }} starts today. You have {{ customer.points }} points to spend
{%- if customer.points > 100 %}: enough for a gift{% endif %}.</p>
<p><a href="https://shop.example.com/sale?city={{ customer.city }}">See the sale</a> or
<a href="https://shop.example.com/account">check your account</a>.</p>
<p style="font-size: small">Sent to {{ customer.email }}. <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
</body></html>"""

TARGETS = {"render_per_s": 10_000, "sandbox_per_s": 1_000_000 / 180, "smtp_per_s": 1_000}


def customer_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, n + 1):
        yield (
            f"c{i}",
            f"customer{i}@example.com",
            FIRST[i % len(FIRST)],
            LAST[i % len(LAST)],
            CITIES[i % len(CITIES)],
            i % 250,
            CREATED_MICROS,
            CREATED_MICROS,
        )


def load_customers(db: Database, n: int, progress: Progress) -> None:
    rows = customer_rows(n)
    with db.engine.begin() as conn:
        loaded = 0
        while loaded < n:
            loaded += db.dialect.bulk_load(conn, customers, COLUMNS, islice(rows, 50_000))
            progress.say(f"customers {loaded:,}/{n:,}")
        conn.execute(text("ANALYZE customers"))


def campaign_document(node_id: str) -> dict[str, Any]:
    return {
        "name": f"Delivery bench {node_id}",
        "trigger": {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": [
            {
                "id": node_id,
                "type": "send_email",
                "config": {"subject": SUBJECT, "body_html": BODY, "utm": {"source": "bench", "medium": "email"}},
            }
        ],
        "edges": [{"source": "trigger", "target": node_id}],
    }


def queue(services: Services, node_id: str, count: int) -> int:
    """One queued e-mail of a new campaign's node for each of the first ``count`` customers: one statement."""
    campaign_id = int(services.campaigns.create(campaign_document(node_id))["id"])
    ids = select(customers.c.id).order_by(customers.c.id).limit(count).subquery()
    rows = select(
        literal(campaign_id),
        literal(1),
        customers.c.id,
        literal(node_id),
        customers.c.id,
        literal("email"),
        customers.c.email,
        literal("queued"),
        literal(NOW, Timestamp()),
        literal(NOW, Timestamp()),
    ).where(customers.c.id.in_(select(ids.c.id)))
    columns = ["campaign_id", "version", "entry_id", "node_id", "customer_id"]
    columns += ["channel", "recipient", "status", "send_after", "created_at"]
    with services.db.engine.begin() as conn:
        conn.execute(messages.insert().from_select(columns, rows))
        if services.db.is_postgres:
            conn.execute(text("ANALYZE messages"))
    return campaign_id


def count(services: Services, query: Any) -> int:
    with services.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def rendering_inputs(
    services: Services, ids: list[int]
) -> list[tuple[Any, DeliveryRules, Compose[Any, Any], TemplateContext]]:
    """What the pipeline's renderer takes for these messages: row, the node's delivery rules, the e-mail route's
    composer, template context (the variables are read from the database here, as the pipeline reads them once per
    chunk)."""
    inputs: list[tuple[Any, DeliveryRules, Compose[Any, Any], TemplateContext]] = []
    tracker = services.delivery.tracker
    with services.db.engine.connect() as conn:
        account = load_account(conn)
        dialect = services.db.dialect
        compose = services.delivery.routes["email"].composer(Chunk(conn, dialect, ids, account, tracker))
        for start in range(0, len(ids), 5_000):
            rows = conn.execute(message_sql.with_customers(dialect, ids[start : start + 5_000])).mappings().all()
            refs = [MessageRef(r["message_id"], r["customer_id"], r["campaign_id"], r["entry_id"]) for r in rows]
            contexts = build_contexts(
                conn, dialect, refs, timezone=account.timezone, now=NOW, unsubscribe_url=tracker.unsubscribe_url
            )
            for row in rows:
                rules = services.documents.delivery_rules(conn, row["campaign_id"], row["version"], row["node_id"])
                assert rules is not None, "the bench's node sends e-mail"
                inputs.append((row, rules, compose, contexts[row["message_id"]]))
    return inputs


def _email(rules: DeliveryRules) -> EmailContent:
    content = rules.content("email")
    assert isinstance(content, EmailContent), "the bench's node sends e-mail"
    return content


def measure_render(services: Services, sample: int) -> dict[str, float]:
    """Messages rendered per second by the pipeline's renderer (subject, body, link tracking, open pixel), their
    variables already read: per CPU second of this thread (per core, whatever else the machine runs) and per
    wall second; and the CPU microseconds per message of its two parts, Liquid and link tracking."""
    with services.db.engine.connect() as conn:
        ids = list(conn.execute(select(messages.c.id).order_by(messages.c.id).limit(sample)).scalars())
    inputs = rendering_inputs(services, ids)
    settle()  # as in a worker
    delivery = services.delivery
    route = delivery.routes["email"]
    row, rules, compose, context = inputs[0]
    delivery._render(row, rules, route, compose, context)  # parse once, as a long-running worker has
    started, cpu = time.perf_counter(), time.thread_time()
    for row, rules, compose, context in inputs:
        delivery._render(row, rules, route, compose, context)
    per_core = len(inputs) / (time.thread_time() - cpu)
    per_wall = len(inputs) / (time.perf_counter() - started)
    emails = [(_email(rules), context) for _, rules, _, context in inputs]
    cpu = time.thread_time()
    bodies = [
        (delivery.templates.render(email.subject, context), delivery.templates.render(email.body_html, context))
        for email, context in emails
    ]
    liquid_us = (time.thread_time() - cpu) / len(inputs) * 1e6
    cpu = time.thread_time()
    for (row, *_), (_, body) in zip(inputs, bodies, strict=True):
        delivery.tracker.track(body, row["message_id"], {"utm_source": "bench", "utm_medium": "email"})
    tracking_us = (time.thread_time() - cpu) / len(inputs) * 1e6
    return {
        "render_per_s": per_core,
        "render_wall_per_s": per_wall,
        "render_liquid_us": liquid_us,
        "render_tracking_us": tracking_us,
    }


def deliver_all(services: Services, expected: int, progress: Progress, label: str) -> float:
    """Run the pipeline until nothing is due, as a worker does (``settle`` first); returns the wall seconds."""
    settle()
    started = time.perf_counter()
    done = 0
    while True:
        handled = services.delivery(NOW)
        done += handled
        progress.say(f"{label}: {done:,}/{expected:,} ({done / (time.perf_counter() - started):,.0f}/s)")
        if handled == 0:
            return time.perf_counter() - started


def _sandbox_worker(url: str, chunk_size: int, cpu: Any) -> None:
    """One more worker process for ``--workers``: deliver until nothing is due; puts the CPU seconds its delivery
    took (start-up excluded) on the ``cpu`` queue."""
    settings = Settings(database_url=url, clock="manual", delivery_chunk_size=chunk_size)
    services = Services.build(settings, clock=ManualClock(NOW))
    settle()
    started = process_cpu_seconds()
    try:
        while services.delivery(NOW):
            pass
    finally:
        services.close()
    cpu.put(process_cpu_seconds() - started)


def deliver_in_processes(url: str, workers: int, chunk_size: int) -> tuple[float, float]:
    """Wall seconds for ``workers`` processes sharing the queue (claims skip each other's rows), and the CPU
    seconds of their delivery together."""
    context = multiprocessing.get_context("spawn")
    cpu = context.Queue()
    processes = [context.Process(target=_sandbox_worker, args=(url, chunk_size, cpu)) for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a delivery worker failed with exit code {process.exitcode}")
    return time.perf_counter() - started, sum(cpu.get(timeout=10) for _ in processes)


def first_email(services: Services) -> OutboundEmail:
    [(row, rules, compose, context)] = rendering_inputs(services, [1])
    message = services.delivery._render(row, rules, services.delivery.routes["email"], compose, context)
    assert isinstance(message, OutboundEmail)
    return message


def sample_email(services: Services) -> bytes:
    """One of the bench's e-mails as the SMTP provider puts it on the wire."""
    return SmtpProvider(services.settings).build(first_email(services), NOW).to_bytes()


def build_ms(services: Services, n: int = 500) -> float:
    """CPU milliseconds the SMTP provider spends building and flattening one MIME message."""
    provider = SmtpProvider(services.settings)
    message = first_email(services)
    cpu = time.thread_time()
    for _ in range(n):
        provider.build(message, NOW).to_bytes()
    return (time.thread_time() - cpu) / n * 1000


async def raw_smtp(port: int, payload: bytes, n: int, connections: int) -> float:
    """Messages per second a bare aiosmtplib client sends over ``connections`` connections: the ceiling here."""
    clients = [SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    await asyncio.gather(*(client.connect() for client in clients))

    async def send(client: SMTP, count: int) -> None:
        for _ in range(count):
            await client.sendmail("bench@tidings.local", ["customer@example.com"], payload)

    started = time.perf_counter()
    await asyncio.gather(*(send(client, n // connections) for client in clients))
    seconds = time.perf_counter() - started
    await asyncio.gather(*(client.quit() for client in clients))
    return n // connections * connections / seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_server(port: int, output: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "bench.smtp_sink.MessageIds"]
    with output.open("wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"aiosmtpd did not start: {output.read_text()}") from None
            time.sleep(0.05)


def check_received(printed: Path, node_id: str, expected: int) -> None:
    """Fails unless the server printed the ``Message-ID`` of each of the node's ``expected`` messages once."""
    ids = [line for line in printed.read_text(errors="replace").splitlines() if f".{node_id}." in line]
    twice = len(ids) - len(set(ids))
    if len(set(ids)) != expected or twice:
        raise RuntimeError(f"{expected:,} sent, {len(set(ids)):,} distinct received by aiosmtpd, {twice:,} twice")


def run(args: argparse.Namespace) -> dict[str, Any]:
    progress = Progress(enabled=not args.quiet)
    result: dict[str, Any] = {
        "db": args.db,
        "messages": args.messages,
        "smtp_messages": args.smtp_messages,
        "chunk_size": args.chunk_size,
        "workers": args.workers,
        "smtp_connections": args.smtp_connections,
    }
    with fresh_database(args.db) as url:
        db = Database.open(url)
        try:
            load_customers(db, max(args.messages, args.smtp_messages), progress)
            checkpoint(db)
        finally:
            db.dispose()
        settings = Settings(database_url=url, clock="manual", delivery_chunk_size=args.chunk_size)
        sandbox = Services.build(settings, clock=ManualClock(NOW))
        try:
            with sandbox.db.engine.begin() as conn:
                load_account(conn)  # create the account row before several workers could race to
            queue(sandbox, "sandbox", args.messages)
            if sandbox.db.is_postgres:
                checkpoint(sandbox.db)
            result.update(
                {name: round(value) for name, value in measure_render(sandbox, min(args.messages, 20_000)).items()}
            )
            progress.say(f"render: {result['render_per_s']:,}/s per core", force=True)
            cpu = process_cpu_seconds()
            if args.workers > 1:
                seconds, worker_cpu = deliver_in_processes(url, args.workers, args.chunk_size)
                result["sandbox_cpu_ms_per_message"] = round(worker_cpu / args.messages * 1000, 3)
            else:
                seconds = deliver_all(sandbox, args.messages, progress, "sandbox")
                result["sandbox_cpu_ms_per_message"] = round((process_cpu_seconds() - cpu) / args.messages * 1000, 3)
            delivered = count(sandbox, select(func.count()).select_from(mailbox))
            if delivered != args.messages:
                raise RuntimeError(f"the sandbox holds {delivered:,} messages, not {args.messages:,}")
            result["sandbox_seconds"] = round(seconds, 1)
            result["sandbox_per_s"] = round(args.messages / seconds)
        finally:
            sandbox.close()

        if args.smtp_messages:
            with tempfile.TemporaryDirectory(prefix="tidings_smtp_") as directory:
                port = free_port()
                printed = Path(directory) / "aiosmtpd.out"
                server = smtp_server(port, printed)
                smtp_settings = {"email_provider": "smtp", "smtp_port": port, "smtp_connections": args.smtp_connections}
                smtp = Services.build(settings.model_copy(update=smtp_settings), clock=ManualClock(NOW))
                raw = min(args.smtp_messages, 5_000)
                try:
                    queue(smtp, "smtp", args.smtp_messages)
                    cpu = process_cpu_seconds()
                    seconds = deliver_all(smtp, args.smtp_messages, progress, "smtp")
                    result["smtp_cpu_ms_per_message"] = round(
                        (process_cpu_seconds() - cpu) / args.smtp_messages * 1000, 3
                    )
                    sent = count(
                        smtp, select(func.count()).where(messages.c.node_id == "smtp", messages.c.status == "sent")
                    )
                    result["smtp_build_ms"] = round(build_ms(smtp), 3)
                    raw_per_s = asyncio.run(raw_smtp(port, sample_email(smtp), raw, args.smtp_connections))
                    result["smtp_raw_per_s"] = round(raw_per_s)
                finally:
                    smtp.close()
                    server.terminate()
                    server.wait(timeout=30)
                if sent != args.smtp_messages:
                    raise RuntimeError(f"{args.smtp_messages:,} queued, {sent:,} recorded sent")
                check_received(printed, "smtp", args.smtp_messages)
                result["smtp_seconds"] = round(seconds, 1)
                result["smtp_per_s"] = round(args.smtp_messages / seconds)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["targets_met"] = {name: result.get(name, 0) >= target for name, target in TARGETS.items()}
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result["load_average"] = [round(load, 1) for load in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="e-mails to the sandbox (default %(default)s)")
    parser.add_argument(
        "--smtp-messages", type=int, default=None, help="e-mails to aiosmtpd (default: min(messages, 20,000))"
    )
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--chunk-size", type=int, default=Settings.model_fields["delivery_chunk_size"].default, help="%(default)s"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes delivering to the sandbox together (PostgreSQL only)"
    )
    parser.add_argument(
        "--smtp-connections",
        type=int,
        default=Settings.model_fields["smtp_connections"].default,
        help="SMTP connections of the worker, and of the bare client (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.smtp_messages is None:
        args.smtp_messages = min(args.messages, 20_000)
    if args.workers > 1 and args.db != "postgres":
        parser.error("--workers needs --db postgres: SQLite serialises its writers")
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:>28}  {value}")


if __name__ == "__main__":
    main()
