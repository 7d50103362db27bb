"""Test databases, each in the exact state the migrations leave: a copy of a migrated SQLite file, or a PostgreSQL
database cloned from a migrated template and brought back to the clone's state after every test.

Cloning a PostgreSQL database per test costs a ``CREATE DATABASE`` and a ``DROP DATABASE``, and the drop forces a
checkpoint of the whole server: together seconds a test on a busy machine, more than most tests take. So each test
process clones the template once and, after each test, empties the clone (``TRUNCATE … RESTART IDENTITY``), resets
its statistics counters and checks that everything but the rows is as cloned: the schema, the sequences, the planner
statistics, the database settings. A test that changed any of those gets a fresh clone instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from tidings.store.database import Database
from tidings.store.migrate import upgrade

PG_ADMIN = os.environ.get("TIDINGS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

#: The one table the migrations fill (with the revision); a reset keeps it, and its row is part of the state.
KEPT_TABLES = ("alembic_version",)


def pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN.rpartition("/")
    return f"{base}/{name}"


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:  # a missing server fails the run; it is never skipped
        raise RuntimeError(
            f"PostgreSQL is required for the tests and is not reachable at {url}: {error}. "
            "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        ) from None


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return _connect(PG_ADMIN)


def create_template(name: str) -> str:
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = Database.open(pg_url(name))
    upgrade(db)
    db.dispose()
    return name


def drop_database(name: str) -> None:
    with _admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _clone(template: str, name: str) -> None:
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))


@contextmanager
def postgres_clone(template: str) -> Iterator[str]:
    """A database of its own, cloned from ``template`` and dropped afterwards (for a test that needs a second
    database, or worker processes whose own state lives beside it)."""
    name = f"tidings_t_{uuid.uuid4().hex[:12]}"
    _clone(template, name)
    try:
        yield pg_url(name)
    finally:
        drop_database(name)


@contextmanager
def postgres_empty() -> Iterator[str]:
    """A new PostgreSQL database without any table (for tests that migrate it step by step)."""
    name = f"tidings_e_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield pg_url(name)
    finally:
        drop_database(name)


#: Everything of a database but its rows, as sorted text: two databases with the same state answer the same
#: queries the same way, with the same plans. Objects by name and kind, columns with types and defaults,
#: constraints, indexes, triggers, functions, types, schemas, extensions, rules and policies; the sequences'
#: positions; each relation's size counts in ``pg_class`` and its planner statistics (``pg_statistic``); the
#: database's own settings; large objects and prepared transactions; the rows of the tables the reset keeps.
_STATE = """
WITH ns AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(temp_|toast_temp_)'
), ours AS (
    SELECT oid, nspname FROM ns WHERE nspname <> 'pg_toast'
), items AS (
    SELECT format('schema %s', nspname) AS item FROM ns
    UNION ALL
    SELECT format('rel %s.%s %s pages=%s tuples=%s visible=%s', ns.nspname, c.relname, c.relkind, c.relpages,
                  c.reltuples, c.relallvisible)
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    UNION ALL
    SELECT format('column %s.%s %s %s %s not_null=%s default=%s', ns.nspname, c.relname, a.attnum, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ours ns ON ns.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint
    WHERE connamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relnamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('trigger %s %s', tgrelid::regclass, pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT format('function %s %s', p.oid::regprocedure, md5(p.prosrc)) FROM pg_proc p
    WHERE p.pronamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('type %s', t.oid::regtype) FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('extension %s %s', extname, extversion) FROM pg_extension
    UNION ALL
    SELECT format('rule %s %s', ev_class::regclass, rulename) FROM pg_rewrite
    WHERE ev_class IN (SELECT c.oid FROM pg_class c JOIN ours ns ON ns.oid = c.relnamespace)
    UNION ALL
    SELECT format('policy %s %s', polrelid::regclass, polname) FROM pg_policy
    UNION ALL
    SELECT format('sequence %s.%s last=%s', schemaname, sequencename, last_value) FROM pg_sequences
    UNION ALL
    SELECT format('statistics %s %s', starelid::regclass, staattnum) FROM pg_statistic
    WHERE starelid IN (SELECT c.oid FROM pg_class c JOIN ns ON ns.oid = c.relnamespace)
    UNION ALL
    SELECT format('extended statistics %s', stxname) FROM pg_statistic_ext
    WHERE stxnamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT format('setting %s %s', setrole, setconfig) FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT format('database %s %s %s', datallowconn, datconnlimit, datistemplate) FROM pg_database
    WHERE datname = current_database()
    UNION ALL
    SELECT format('large object %s', oid) FROM pg_largeobject_metadata
    UNION ALL
    SELECT format('prepared transaction %s', gid) FROM pg_prepared_xacts WHERE database = current_database()
    UNION ALL
    SELECT format('alembic_version %s', version_num) FROM alembic_version
)
SELECT string_agg(item, E'\\n' ORDER BY item) FROM items
"""

#: The size counts of every relation (tables, indexes, their TOAST tables), by oid: a clone keeps the template's
#: oids, so the counts of a fresh clone can be written back over those a ``TRUNCATE`` leaves.
_COUNTS = """
SELECT c.oid::int8, c.relpages, c.reltuples, c.relallvisible
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(temp_|toast_temp_)'
ORDER BY 1
"""

#: The tables a test wrote to (a written row, even one deleted or rolled back, leaves a page): every table of the
#: schema with a page, but the ones the migrations fill.
_WRITTEN = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> ALL(%s)
AND pg_relation_size(c.oid) > 0
ORDER BY 1
"""

#: The sequences that moved (``nextval`` without a row, or a sequence no table owns).
_MOVED = (
    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences WHERE last_value IS NOT NULL"
)

#: ``TRUNCATE`` counts a table and its indexes as never measured (``reltuples`` -1, no pages), where a fresh index
#: counts its metapage and no tuple: put back the fresh clone's counts, which the planner reads (for partial
#: indexes) until the first ANALYZE. A superuser may write them, as ``pg_restore_relation_stats`` does from
#: PostgreSQL 18 on.
_RESTORE_COUNTS = """
UPDATE pg_class c SET relpages = f.relpages, reltuples = f.reltuples, relallvisible = f.relallvisible
FROM unnest(%s::oid[], %s::int4[], %s::float4[], %s::int4[]) AS f(oid, relpages, reltuples, relallvisible)
WHERE c.oid = f.oid AND (c.relpages, c.reltuples, c.relallvisible) IS DISTINCT FROM (f.relpages, f.reltuples,
f.relallvisible)
"""

#: The other client sessions on this database (a test that leaked a connection): they end, as a drop would end them.
_OTHERS = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)

Counts = tuple[list[int], list[int], list[float], list[int]]


class ReusedDatabase:
    """One PostgreSQL database a test process reuses: cloned from ``template`` once, brought back to the clone's
    state by ``reset()`` after each test, and cloned again whenever a test left more behind than rows, sequence
    positions and statistics counters."""

    def __init__(self, template: str, name: str) -> None:
        self.template = template
        self.name = name
        self.url = pg_url(name)
        self.clones = 0
        self._fresh_state, self._fresh_counts = self._make()

    def _make(self) -> tuple[str, Counts]:
        drop_database(self.name)
        _clone(self.template, self.name)
        self.clones += 1
        with _connect(self.url) as conn:
            rows = conn.execute(_COUNTS).fetchall()
            counts: Counts = (
                [int(str(r[0])) for r in rows],
                [int(str(r[1])) for r in rows],
                [float(str(r[2])) for r in rows],
                [int(str(r[3])) for r in rows],
            )
            return self._state(conn), counts

    @staticmethod
    def _state(conn: psycopg.Connection[tuple[object, ...]]) -> str:
        row = conn.execute(_STATE).fetchone()
        assert row is not None
        return str(row[0])

    def reset(self) -> None:
        """Empty the tables the test wrote to, restart the sequences, put back the size counts and zero the
        statistics counters; if anything else differs from the fresh clone (a test's DDL, an ANALYZE, a database
        setting), clone the template again."""
        with _admin() as admin:  # DBOS keeps its own state in a database beside ours
            sibling = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"{self.name}_dbos",)).fetchone()
        if sibling:
            drop_database(f"{self.name}_dbos")
        with _connect(self.url) as conn:
            for (pid,) in conn.execute(_OTHERS).fetchall():
                conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))  # waits until it has exited
            with conn.transaction():
                written = [str(row[0]) for row in conn.execute(_WRITTEN, (list(KEPT_TABLES),))]
                if written:  # CASCADE: with the (empty) tables that reference them, as TRUNCATE requires
                    tables = sql.SQL(", ").join(map(sql.SQL, written))
                    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))
                for (sequence,) in conn.execute(_MOVED).fetchall():
                    conn.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(sql.SQL(str(sequence))))
                conn.execute(_RESTORE_COUNTS, self._fresh_counts)
            same = self._state(conn) == self._fresh_state
            if same:
                # A fresh clone has no counters (rows inserted, scans, changes since the last ANALYZE): zero them,
                # once this session's own counts are flushed (a forced flush happens when the statement ends).
                conn.execute("SELECT pg_stat_force_next_flush()")
                conn.execute("SELECT pg_stat_reset()")
        if not same:
            self._fresh_state, self._fresh_counts = self._make()

    def drop(self) -> None:
        drop_database(self.name)


def sqlite_template(directory: Path) -> Path:
    """A migrated SQLite file that tests copy (``sqlite_copy``) instead of migrating a file each."""
    path = directory / "template.db"
    db = Database.open(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the write-ahead log into the file and removes it
    for suffix in ("-wal", "-shm", "-journal"):
        assert not Path(f"{path}{suffix}").exists(), f"{path}{suffix} left beside the template"
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "tidings.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"
