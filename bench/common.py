"""Shared benchmark plumbing: throw-away databases, a streamed synthetic customer base, memory and
statement timing. Nothing here is imported by the engine."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import event, text

from tidings.store.database import Database
from tidings.store.migrate import upgrade
from tidings.store.tables import customers

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
    """What the campaign must do with the generated base, counted while generating it."""

    customers: int = 0
    filter_yes: int = 0
    filter_no: int = 0
    no_contact: int = 0
    invalid_contact: int = 0
    sent: int = 0

    def count(self, city: str | None, email: str | None) -> None:
        self.customers += 1
        if city == "Oslo":
            self.filter_no += 1
            return
        self.filter_yes += 1
        if not email:
            self.no_contact += 1
        elif " " in email or "@" not in email:
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


def backend_cpu_seconds(db: Database) -> float | None:
    """PostgreSQL on this host: CPU seconds used so far by the server processes serving this database
    (read from /proc; None when the server is elsewhere or unreadable)."""
    if not db.is_postgres:
        return None
    with db.engine.connect() as conn:
        query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        pids = list(conn.execute(query).scalars())
        conn.rollback()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def table_writes(db: Database) -> dict[str, dict[str, int]] | None:
    """PostgreSQL: rows inserted / updated (and how many of those were HOT) / deleted per table so far.
    Statistics are flushed by each backend within about a second of its transactions, so wait a little."""
    if not db.is_postgres:
        return None
    time.sleep(1.5)
    query = text(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables "
        "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname"
    )
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
        conn.rollback()
    return {
        name: {"inserted": int(ins), "updated": int(upd), "hot_updated": int(hot), "deleted": int(dele)}
        for name, ins, upd, hot, dele in rows
    }


# -- which engine code is measured ----------------------------------------------------------------------
PINNED_ENV = "TIDINGS_BENCH_PINNED_COMMIT"


def engine_source() -> dict[str, Any]:
    """The tidings code this process runs: a pinned commit snapshot, or a checkout's HEAD and whether its
    src/ has uncommitted changes (other people edit the tree; a dirty run is not reproducible)."""
    import tidings

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
