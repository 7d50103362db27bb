"""Shared benchmark plumbing: throw-away databases, a streamed synthetic customer base, memory and
statement timing, the CPU split between Python and PostgreSQL, row versions, what every result records (date,
commit, machine, load average), ``tidings worker`` processes and polling a campaign they run. Nothing here is
imported by the engine."""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
import psycopg
from psycopg import sql
from sqlalchemy import Connection, Integer, event, func, select, text
from sqlalchemy.engine import make_url

import tidings
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.account import load_account
from tidings.store.database import Database
from tidings.store.migrate import upgrade
from tidings.store.tables import customers, journey_state, messages, node_counters

PG_ADMIN = os.environ.get(
    "TIDINGS_BENCH_PG", os.environ.get("TIDINGS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
)


# -- progress -------------------------------------------------------------------------------------------
class Progress:
    """Throttled progress lines on stderr (stdout stays clean for --json)."""

    def __init__(self, enabled: bool = True, every: float = 2.0) -> None:
        self.enabled = enabled
        self.every = every
        self.started = time.perf_counter()
        self._last = 0.0

    def say(self, message: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self._last < self.every:
            return
        self._last = now
        print(f"[bench {now - self.started:7.1f}s rss {rss_mb():6.0f} MB] {message}", file=sys.stderr, flush=True)


# -- memory ---------------------------------------------------------------------------------------------
def add_engine_options(parser: argparse.ArgumentParser, *, poll_seconds: float, workers: str) -> None:
    """The options every engine bench takes: the engine's chunk sizes and idle pause (defaults from ``Settings``)
    and how often the bench polls the workers' progress; ``workers`` says when the pause and polling apply."""
    chunks = (
        ("chunk_size", "customers advanced per engine chunk"),
        ("delivery_chunk_size", "messages per delivery chunk"),
    )
    for field_name, what in chunks:
        parser.add_argument(
            "--" + field_name.replace("_", "-"),
            type=int,
            default=Settings.model_fields[field_name].default,
            help=f"{what} (TIDINGS_{field_name.upper()}; default %(default)s)",
        )
    parser.add_argument(
        "--tick-seconds",
        type=float,
        default=Settings.model_fields["tick_seconds"].default,
        help=f"{workers}: the scheduler loop's idle pause (TIDINGS_TICK_SECONDS; default %(default)s)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=poll_seconds,
        help=f"{workers}: how often the bench polls progress, so the resolution of the ends it reports "
        "(default %(default)s)",
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


# -- databases ------------------------------------------------------------------------------------------
def _pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


def _pg_admin() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)


@contextmanager
def fresh_database(kind: str, *, keep: bool = False) -> Iterator[str]:
    """A new, migrated database: a SQLite file in a temp dir, or ``tidings_bench_<pid>`` on PostgreSQL.
    It is removed afterwards unless ``keep``."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="tidings_bench_")
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        try:
            _migrate(url)
            yield url
        finally:
            if keep:
                print(f"[bench] kept {url}", file=sys.stderr)
            else:
                for name in os.listdir(directory):
                    os.unlink(Path(directory) / name)
                os.rmdir(directory)
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"tidings_bench_{os.getpid()}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = _pg_url(name)
        _migrate(url)
        yield url
    finally:
        if keep:
            print(f"[bench] kept database {name}", file=sys.stderr)
        else:
            with _pg_admin() as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _migrate(url: str) -> None:
    db = Database.open(url)
    try:
        upgrade(db)
    finally:
        db.dispose()


def checkpoint(db: Database) -> None:
    """Flush earlier writes so they are not billed to the phase measured next."""
    raw = db.engine.raw_connection()  # outside any transaction (SQLite's BEGIN IMMEDIATE hook is not involved)
    try:
        cursor = raw.cursor()
        cursor.execute("CHECKPOINT" if db.is_postgres else "PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
        raw.commit()
    finally:
        raw.close()


# -- the synthetic customer base ------------------------------------------------------------------------
CITIES = ("Riga", "Tallinn", "Vilnius", "Helsinki", "Stockholm", "Warsaw", "Berlin")
FIRST_NAMES = ("Ann", "Bob", "Chloe", "Dmitri", "Elina", "Frank", "Greta", "Hugo", "Ilze", "Janis")
LAST_NAMES = ("Berzins", "Kalnins", "Ozols", "Jansons", "Liepa", "Smith", "Virtanen")
CUSTOMER_COLUMNS = ("external_id", "email", "first_name", "last_name", "city", "created_at", "updated_at")
CREATED_MICROS = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z, stored as microseconds (tidings Timestamp)


def city_of(i: int) -> str | None:
    if i % 10 == 0:
        return "Oslo"  # 10 %: filtered out (port `no`, which has no edge: they leave the campaign)
    if i % 101 == 0:
        return None  # no city: `not_equals Oslo` holds for them
    return CITIES[i % len(CITIES)]


def email_of(i: int) -> str | None:
    if i % 37 == 0:
        return None  # ~2.7 %: no e-mail → dropped at send_email as no_contact
    if i % 211 == 0:
        return ""  # empty → no_contact
    if i % 307 == 0:
        return f"customer{i} at example.com"  # → invalid_contact
    return f"customer{i}@example.com"


@dataclass
class Expected:
    """What the campaign must do with the generated base, counted while generating it: ``bench.engine``'s
    campaign filters out Oslo before its e-mail; ``reachable`` counts everyone with a valid e-mail, whatever
    their city (``bench.latency``'s campaign has no filter)."""

    customers: int = 0
    filter_yes: int = 0
    filter_no: int = 0
    no_contact: int = 0
    invalid_contact: int = 0
    sent: int = 0
    reachable: int = 0

    def count(self, city: str | None, email: str | None) -> None:
        self.customers += 1
        contact = "none" if not email else "invalid" if " " in email or "@" not in email else "valid"
        if contact == "valid":
            self.reachable += 1
        if city == "Oslo":
            self.filter_no += 1
            return
        self.filter_yes += 1
        if contact == "none":
            self.no_contact += 1
        elif contact == "invalid":
            self.invalid_contact += 1
        else:
            self.sent += 1


def customer_rows(n: int, expected: Expected) -> Iterator[tuple[Any, ...]]:
    """Stream ``n`` customer rows (never materialised), counting what the campaign should do with them."""
    for i in range(1, n + 1):
        city = city_of(i)
        email = email_of(i)
        expected.count(city, email)
        yield (
            f"c{i}",
            email,
            FIRST_NAMES[i % len(FIRST_NAMES)],
            LAST_NAMES[i % len(LAST_NAMES)],
            city,
            CREATED_MICROS,
            CREATED_MICROS,
        )


def load_customers(db: Database, n: int, *, chunk: int = 50_000, progress: Progress | None = None) -> Expected:
    """Load ``n`` customers in chunks through ``dialect.bulk_load`` (COPY on PostgreSQL), one transaction."""
    expected = Expected()
    rows = customer_rows(n, expected)
    with db.engine.begin() as conn:
        while True:
            loaded = db.dialect.bulk_load(conn, customers, CUSTOMER_COLUMNS, islice(rows, chunk))
            if progress:
                progress.say(f"loading customers {expected.customers:,}/{n:,}")
            if loaded < chunk:
                break
        conn.execute(text("ANALYZE customers"))
    return expected


# -- statement timing -----------------------------------------------------------------------------------
_PLACEHOLDER_RUN = re.compile(r"(?:(?:%\([^)]+\)s|\?|__\[POSTCOMPILE_[^\]]+\])(?:\s*,\s*)?){2,}")
_VALUES_RUN = re.compile(r"(VALUES\s*\([^)]*\))(?:\s*,\s*\([^)]*\))+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def statement_key(statement: str) -> str:
    key = _SPACES.sub(" ", statement).strip()
    key = _VALUES_RUN.sub(r"\1, …", key)
    key = _PLACEHOLDER_RUN.sub("…", key)
    return key


@dataclass
class StatementStats:
    calls: int = 0
    seconds: float = 0.0
    rows: int = 0


@dataclass
class StatementTimer:
    """Times every statement the engine sends, by phase and normalised SQL text."""

    phase: str = "other"
    stats: dict[tuple[str, str], StatementStats] = field(default_factory=dict)
    _started: list[float] = field(default_factory=list)

    def install(self, db: Database) -> None:
        event.listen(db.engine, "before_cursor_execute", self._before)
        event.listen(db.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self._started.append(time.perf_counter())

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        elapsed = time.perf_counter() - self._started.pop()
        item = self.stats.setdefault((self.phase, statement_key(statement)), StatementStats())
        item.calls += 1
        item.seconds += elapsed
        rowcount = getattr(cursor, "rowcount", -1)
        if isinstance(rowcount, int) and rowcount > 0:
            item.rows += rowcount

    def top(self, limit: int = 25) -> list[dict[str, Any]]:
        ranked = sorted(self.stats.items(), key=lambda kv: kv[1].seconds, reverse=True)[:limit]
        return [
            {
                "phase": phase,
                "seconds": round(s.seconds, 3),
                "calls": s.calls,
                "rows": s.rows,
                "sql": key if len(key) <= 400 else key[:397] + "…",
            }
            for (phase, key), s in ranked
        ]

    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.stats.values())


def install_auto_explain(db: Database, min_ms: int, sink: list[str]) -> None:
    """PostgreSQL only: EXPLAIN ANALYZE every statement slower than ``min_ms`` in this process's sessions
    (``auto_explain`` loaded per session, plans returned as notices into ``sink``; no server config change)."""

    def on_notice(diagnostic: Any) -> None:
        if diagnostic.message_primary and "duration:" in diagnostic.message_primary:
            sink.append(diagnostic.message_primary)

    @event.listens_for(db.engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.add_notice_handler(on_notice)
        with dbapi_conn.cursor() as cursor:
            cursor.execute("LOAD 'auto_explain'")
            cursor.execute(f"SET auto_explain.log_min_duration = {int(min_ms)}")
            for setting in ("log_analyze", "log_buffers", "log_nested_statements", "log_triggers"):
                cursor.execute(f"SET auto_explain.{setting} = on")
            cursor.execute("SET auto_explain.log_level = notice")
        dbapi_conn.commit()


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- CPU split: Python processes vs PostgreSQL ------------------------------------------------------------
#: Server processes that work for every database (WAL, dirty buffers); on an idle machine, for the bench.
POSTGRES_BACKGROUND = ("checkpointer", "background writer", "walwriter")


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far (user + system) by this process, by the given other processes (workers), and by
    the PostgreSQL processes on this host — those serving the bench database and the shared background ones —,
    each by pid, so that a process started between two samples counts in full."""

    own: float
    processes: dict[int, float]
    backends: dict[int, float]
    background: dict[int, float]


def _cpu(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def cpu_sample(database: str | None, processes: Iterable[int] = (), skip: Iterable[int] = ()) -> CpuSample:
    """Read every figure of a ``CpuSample`` now. PostgreSQL processes are found by name (``postgres``) and their
    title, which names the database of a backend (``postgres: postgres tidings_bench_1 127.0.0.1(…) idle``);
    ``skip`` leaves out backends that are the bench's own (its progress polling)."""
    backends: dict[int, float] = {}
    background: dict[int, float] = {}
    if database is not None:
        serves = re.compile(rf"\s{re.escape(database)}\s")
        skipped = set(skip)
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] != "postgres" or process.pid in skipped:
                continue
            title = " ".join(process.info["cmdline"] or ()) + " "
            if serves.search(title):
                into = backends
            elif title.rstrip().endswith(POSTGRES_BACKGROUND):
                into = background
            else:
                continue
            seconds = _cpu(process)
            if seconds is not None:
                into[process.pid] = seconds
    others: dict[int, float] = {}
    for pid in processes:
        try:
            seconds = _cpu(psutil.Process(pid))
        except psutil.Error:
            seconds = None
        if seconds is not None:
            others[pid] = seconds
    return CpuSample(process_cpu_seconds(), others, backends, background)


def _grown(before: dict[int, float], after: dict[int, float]) -> float | None:
    if not after:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def cpu_between(before: CpuSample, after: CpuSample) -> dict[str, float | None]:
    """CPU seconds between two samples: this process, the other processes (None without any), the bench
    database's PostgreSQL backends and the server's background processes (None when PostgreSQL is not on this
    host). A backend that ended between the samples is missing: sample before closing pools or workers."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "this_process_seconds": rounded(after.own - before.own),
        "worker_seconds": rounded(_grown(before.processes, after.processes)),
        "postgres_backend_seconds": rounded(_grown(before.backends, after.backends)),
        "postgres_background_seconds": rounded(_grown(before.background, after.background)),
    }


def database_name(url: str) -> str | None:
    """The PostgreSQL database of ``url`` (None for SQLite)."""
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "postgresql" else None


# -- row versions -------------------------------------------------------------------------------------------
def table_writes(url: str) -> dict[str, dict[str, int]] | None:
    """PostgreSQL: rows inserted / updated (and how many of those were HOT) / deleted per table so far.

    A backend flushes its table statistics at most once a second while busy and, once idle, may hold them for up
    to 10 s (PostgreSQL 15) — but it always flushes them when it exits, before it leaves ``pg_stat_activity``. So
    the caller closes its pools (and stops its workers) first, and this waits until no other client session of
    the database is left before it reads ``pg_stat_user_tables``."""
    if database_name(url) is None:
        return None
    others = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    query = (
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while _scalar(conn, others):
            if time.monotonic() > deadline:
                raise RuntimeError("other sessions of the bench database are still open; their row counts are unread")
            time.sleep(0.1)
        rows = conn.execute(query).fetchall()
    return {
        name: {"inserted": int(ins), "updated": int(upd), "hot_updated": int(hot), "deleted": int(dele)}
        for name, ins, upd, hot, dele in rows
    }


def _scalar(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def row_versions(
    before: dict[str, dict[str, int]] | None, after: dict[str, dict[str, int]] | None, customers: int
) -> dict[str, Any] | None:
    """Row versions written between two ``table_writes`` readings, per table (the bench's ``bench_*`` scratch
    tables left out), in total per customer, and the share of updates that were HOT."""
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
        "per_customer": round(total / customers, 2),
        "hot_update_share": round(hot / updated, 4) if updated else None,
    }


# -- what every result records ------------------------------------------------------------------------------
def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """The box the numbers come from."""
    cpu = None
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), None)
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu": cpu or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
    }


POSTGRES_SETTINGS = (
    "server_version",
    "shared_buffers",
    "work_mem",
    "fsync",
    "synchronous_commit",
    "autovacuum",
    "jit",
    "max_connections",
)


def database_server(url: str) -> dict[str, Any]:
    """PostgreSQL's version and the settings that move these numbers, or SQLite's version."""
    if database_name(url) is None:
        return {"sqlite": sqlite3.sqlite_version}
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", [list(POSTGRES_SETTINGS)]
        ).fetchall()
    return {"postgresql": dict(rows)}


def provenance(url: str, loadavg_before: list[float]) -> dict[str, Any]:
    """Date, commit, machine, database server and load average (before the run and now) of a result."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine_source": engine_source(),
        "environment": {
            **machine(),
            **database_server(url),
            "loadavg_before": loadavg_before,
            "loadavg_after": load_average(),
        },
    }


# -- which engine code is measured ----------------------------------------------------------------------
PINNED_ENV = "TIDINGS_BENCH_PINNED_COMMIT"


def engine_source() -> dict[str, Any]:
    """The tidings code this process runs: a pinned commit snapshot, or a checkout's HEAD and whether its
    src/ has uncommitted changes (other people edit the tree; a dirty run is not reproducible)."""
    path = Path(tidings.__file__).resolve().parent
    pinned = os.environ.get(PINNED_ENV)
    if pinned:
        return {"commit": pinned, "dirty": False, "path": str(path), "pinned": True}
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "path": str(path), "pinned": False}
    return {"commit": head, "dirty": bool(status.strip()), "path": str(path), "pinned": False}


def run_pinned(commit: str, argv: list[str]) -> int:
    """Re-run this benchmark against ``git archive <commit> src`` in a temp dir, so concurrent edits of the
    working tree cannot change the code under measurement."""
    repo = Path(__file__).resolve().parent.parent
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    directory = tempfile.mkdtemp(prefix=f"tidings_src_{sha[:10]}_")
    try:
        archive = subprocess.run(["git", "-C", str(repo), "archive", sha, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", directory], input=archive.stdout, check=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(directory) / "src"), str(repo)])
        env[PINNED_ENV] = sha
        return subprocess.run([sys.executable, "-m", "bench.engine", *argv], env=env, cwd=str(repo)).returncode
    finally:
        shutil.rmtree(directory, ignore_errors=True)


ENGINE_TABLES = ("journey_state", "entries", "journey_trace", "messages", "mailbox")


def maintain(url: str) -> float:
    """What autovacuum would have done during the simulated day (it is off on this CI server): VACUUM (ANALYZE)
    the engine's tables on PostgreSQL, ANALYZE on SQLite. Returns the seconds it took."""
    started = time.perf_counter()
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"VACUUM (ANALYZE) {', '.join(ENGINE_TABLES)}")
    else:
        db = Database.open(url)
        try:
            raw = db.engine.raw_connection()
            try:
                raw.cursor().execute("ANALYZE")
                raw.commit()
            finally:
                raw.close()
        finally:
            db.dispose()
    return time.perf_counter() - started


# -- `tidings worker` processes -------------------------------------------------------------------------
#: What the ``tidings`` console script runs (``[project.scripts]``), started with this interpreter so that the
#: workers import the same tidings as the bench (a pinned ``--engine-commit`` snapshot included).
WORKER_COMMAND = (sys.executable, "-c", "from tidings.cli import main; main()", "worker")


def _stop_with_parent() -> None:
    """Linux: SIGTERM the worker if the bench dies without stopping it (``PR_SET_PDEATHSIG``)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Workers:
    """Running ``tidings worker`` processes and their logs."""

    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def check(self) -> None:
        """Fails, with the end of its log, if a worker has exited."""
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"worker {process.pid} exited with {process.returncode}:\n{_tail(log)}")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (a worker finishes its tick and exits), then SIGKILL whatever is still running."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def tidings_workers(count: int, settings: Mapping[str, str], *, ready_timeout: float = 120.0) -> Iterator[Workers]:
    """``count`` ``tidings worker`` processes configured by ``settings`` (``TIDINGS_*`` variables), each ready —
    migrated, services built, ticking — when this yields; stopped (and killed if need be) on the way out, error or
    not. Their output goes to log files whose ends are printed if one fails."""
    directory = Path(tempfile.mkdtemp(prefix="tidings_workers_"))
    env = dict(os.environ)
    env.setdefault(
        "TIDINGS_SECRET_KEY", secrets.token_urlsafe(48)
    )  # a worker outside demo mode refuses to start without
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    source = str(Path(tidings.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(part for part in (source, env.get("PYTHONPATH")) if part)
    workers = Workers([], [])
    failed = False
    try:
        for number in range(count):
            log = directory / f"worker-{number}.log"
            with log.open("wb") as out:
                workers.processes.append(
                    subprocess.Popen(
                        WORKER_COMMAND, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_stop_with_parent
                    )
                )
            workers.logs.append(log)
        deadline = time.monotonic() + ready_timeout
        for log in workers.logs:
            while "worker running" not in log.read_text(errors="replace"):
                workers.check()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start within {ready_timeout:g} s:\n{_tail(log)}")
                time.sleep(0.1)
        yield workers
    except BaseException:
        failed = True
        raise
    finally:
        workers.stop()
        if failed:
            for process, log in zip(workers.processes, workers.logs, strict=True):
                print(f"[bench] worker {process.pid} log (end):\n{_tail(log)}", file=sys.stderr)
        shutil.rmtree(directory, ignore_errors=True)


# -- campaigns due by the system clock ------------------------------------------------------------------
@dataclass(frozen=True)
class Launch:
    """The start of the current hour in the account's time zone. A ``date_has_come`` trigger on it (its
    granularity is an hour), armed as if the campaign had been activated a minute before (``activate_armed``),
    is due at once by the system clock: a worker fires it at its first tick."""

    at: datetime  # aware, in the account's time zone

    @classmethod
    def now(cls, db: Database) -> Launch:
        with db.engine.begin() as conn:
            account = load_account(conn)  # creates the account row too, before several workers could race to
        local = datetime.now(ZoneInfo(account.timezone))
        return cls(local.replace(minute=0, second=0, microsecond=0))

    def trigger(self) -> dict[str, Any]:
        return {"type": "date_has_come", "config": {"date": self.at.date().isoformat(), "hour": self.at.hour}}


def wait_until(moment: datetime) -> dict[str, Any]:
    """A ``wait_until_date`` node releasing at ``moment`` (aware, in the account's time zone; whole minutes)."""
    when = {"date": moment.date().isoformat(), "time": moment.time().isoformat(timespec="minutes")}
    return {"type": "wait_until_date", "config": when}


def activate_armed(url: str, document: dict[str, Any], launch: Launch) -> int:
    """Create and activate the campaign with the clock a minute before ``launch``, so that its trigger is armed
    for ``launch``, which the system clock has already passed (activated at the real time, a ``date_has_come``
    whose moment has passed would never fire). Returns the campaign id."""
    clock = ManualClock(launch.at - timedelta(minutes=1))
    services = Services.build(Settings(database_url=url, clock="manual"), clock=clock)
    try:
        campaign_id = int(services.campaigns.create(document)["id"])
        services.campaigns.transition(campaign_id, "activate")
    finally:
        services.close()
    return campaign_id


# -- watching a campaign run in other processes ---------------------------------------------------------
@dataclass
class Milestones:
    """When (``time.time()``, first seen by polling) a campaign's customers had all entered, had all finished
    their journeys (every message queued) and had all been delivered (no message queued or sending); None if
    not reached before the deadline. ``last`` is the last reading of the stage it was in."""

    entered: float | None = None
    moved: float | None = None
    delivered: float | None = None
    last: str = ""


def _count(conn: Connection, query: Any) -> int:
    value = conn.execute(query).scalar_one()
    conn.rollback()  # a fresh snapshot at each poll
    return int(value or 0)


def entered_count(campaign_id: int) -> Any:
    """The trigger node's counter (the node counters are a small table)."""
    where = (node_counters.c.campaign_id == campaign_id, node_counters.c.node_id == "trigger")
    return select(func.sum(node_counters.c.value)).where(*where, node_counters.c.metric == "performed")


def journeys_running(campaign_id: int) -> Any:
    """1 while any customer of the campaign still has a token (an entry is completed in the transaction that
    removes its last token), else 0. A probe of the journey index's first live row: counting the active entries
    instead scanned the whole entries table at every poll (at 1M, three parallel processes for 0.2 s each, and
    every page read pushed the engine's own pages out of the shared buffers)."""
    running = select(journey_state.c.id).where(journey_state.c.campaign_id == campaign_id).exists()
    return select(func.cast(running, Integer))


def arrivals(campaign_id: int) -> Any:
    """Customers counted into the campaign's nodes so far (the node counters are a small table): the progress
    shown while journeys run."""
    where = (node_counters.c.campaign_id == campaign_id, node_counters.c.metric == "entered")
    return select(func.sum(node_counters.c.value)).where(*where)


def undelivered_messages() -> Any:
    """1 while any message is queued or being sent (a probe of the delivery queue's index), else 0."""
    waiting = select(messages.c.id).where(messages.c.status.in_(("queued", "sending"))).exists()
    return select(func.cast(waiting, Integer))


def watch(
    conn: Connection,
    campaign_id: int,
    customers: int,
    *,
    every: float,
    deadline: float | None,
    check: Callable[[], None],
    progress: Progress,
) -> Milestones:
    """Poll every ``every`` seconds until all ``customers`` have entered, then until none is active, then until
    no message is undelivered — each stage reads only its own count — or until ``deadline`` (``time.time()``).
    ``check`` runs at each poll (it raises if a worker died)."""
    seen = Milestones()
    while True:
        check()
        # Each moment is read after its count: a stage is over no later than when the bench saw it so.
        if seen.entered is None:
            entered = _count(conn, entered_count(campaign_id))
            seen.last = f"entered {entered:,}/{customers:,}"
            if entered >= customers:
                seen.entered = time.time()
        if seen.entered is not None and seen.moved is None:
            running = _count(conn, journeys_running(campaign_id))
            seen.last = f"all entered; {_count(conn, arrivals(campaign_id)):,} arrivals at nodes so far"
            if not running:
                seen.moved = time.time()
        if seen.moved is not None:
            undelivered = _count(conn, undelivered_messages())
            seen.last = "all moved; messages still being delivered"
            if not undelivered:
                seen.delivered = time.time()
                return seen
        progress.say(seen.last)
        if deadline is not None and time.time() > deadline:
            return seen
        time.sleep(every)
