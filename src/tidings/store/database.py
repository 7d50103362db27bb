"""Opening a database: the engine plus its dialect seam."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine

from tidings.core.dialect import Dialect
from tidings.store.dialects import dialect_for
from tidings.store.tables import RUN_TABLES


@dataclass(frozen=True)
class Database:
    engine: Engine
    dialect: Dialect

    @classmethod
    def open(cls, url: str) -> Database:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        else:
            # JIT compiles the per-customer subplans of condition aggregates at a cost far above their run time. A
            # chunk's scratch table (``tables.journey_chunk``) outgrows the default 8 MB of buffers for temporary
            # tables within a chunk and would be written to disk and read back; the buffers are taken only as used.
            engine = create_engine(
                url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                connect_args={"options": "-c jit=off -c temp_buffers=32MB"},
            )
        # INSERT … SELECT row counts feed the node counters, so keep them on every statement.
        engine = engine.execution_options(preserve_rowcount=True)
        dialect = dialect_for(engine)
        dialect.prepare_engine(engine)
        return cls(engine, dialect)

    @property
    def is_postgres(self) -> bool:
        return self.dialect.name == "postgresql"

    def refresh_run_statistics(self) -> list[str]:
        """Sample again the planner statistics of the run tables that grew or shrank a lot since their last
        sample (``Dialect.refresh_statistics``); returns their names."""
        with self.engine.connect() as conn:  # no transaction at all where there is nothing to sample
            analyzed = self.dialect.refresh_statistics(conn, RUN_TABLES)
            conn.commit()
        return analyzed

    def dispose(self) -> None:
        self.engine.dispose()
