"""The migrations build exactly the schema that `tables.py` declares, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Table, func, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.databases import postgres_empty
from tidings.model.statuses import EntryStatus, LoyaltyRequestStatus, MessageStatus
from tidings.store.database import Database
from tidings.store.migrate import alembic_config, upgrade
from tidings.store.tables import entries, loyalty_requests, mailbox, messages, metadata, users

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
MESSAGE = {
    "campaign_id": 1,
    "version": 1,
    "entry_id": 1,
    "node_id": "n",
    "customer_id": 1,
    "channel": "email",
    "recipient": "ann@example.com",
    "send_after": AT,
    "created_at": AT,
}

#: Each status column, its vocabulary, and the other values a row of its table needs.
STATUS_COLUMNS: list[tuple[Table, Any, dict[str, Any]]] = [
    (entries, EntryStatus, {"campaign_id": 1, "version": 1, "customer_id": 1, "entered_at": AT, "trigger_batch": "b"}),
    (messages, MessageStatus, MESSAGE),
    (
        loyalty_requests,
        LoyaltyRequestStatus,
        {"kind": "bonus", "campaign_id": 1, "customer_id": 1, "payload": {}, "created_at": AT},
    ),
]


def test_migrated_schema_matches_metadata(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
            # Alembic leaves CHECK constraints out of the comparison: compare their names.
            inspector = inspect(conn)
            migrated = {(t, c["name"]) for t in metadata.tables for c in inspector.get_check_constraints(t)}
    finally:
        db.dispose()
    assert differences == []
    declared = {
        (t.name, c.name) for t in metadata.tables.values() for c in t.constraints if isinstance(c, CheckConstraint)
    }
    assert migrated == declared


@pytest.mark.parametrize(("table", "vocabulary", "row"), STATUS_COLUMNS, ids=[t.name for t, _, _ in STATUS_COLUMNS])
def test_a_status_column_takes_its_vocabulary_and_refuses_an_unknown_status(
    database_url: str, table: Table, vocabulary: Any, row: dict[str, Any]
) -> None:
    statuses = get_args(vocabulary)
    db = Database.open(database_url)
    try:
        with db.engine.begin() as conn:
            row_id = conn.execute(table.insert().values(**row, status=statuses[0]).returning(table.c.id)).scalar_one()
            for status in statuses:
                conn.execute(update(table).where(table.c.id == row_id).values(status=status))
        with pytest.raises(IntegrityError, match=f"ck_{table.name}_status"), db.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == row_id).values(status="unknown"))
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database.open(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        db.dispose()
    else:
        with postgres_empty() as url:
            db = Database.open(url)
            yield db
            db.dispose()


def test_the_status_check_migration_keeps_the_mailbox_rows_of_rebuilt_messages(empty_database: Database) -> None:
    """SQLite adds a CHECK by rebuilding the table: the mailbox rows that reference a rebuilt message stay."""
    db = empty_database
    upgrade(db, "0005")
    with db.engine.begin() as conn:
        message_id = conn.execute(
            messages.insert().values(**MESSAGE, status="sent").returning(messages.c.id)
        ).scalar_one()
        conn.execute(
            mailbox.insert().values(
                message_id=message_id,
                recipient="ann@example.com",
                sender="s",
                subject="Hi",
                body_html="<p>Hi</p>",
                received_at=AT,
            )
        )

    def counts() -> tuple[int, int]:
        with db.engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(messages)).scalar_one(),
                conn.execute(select(func.count()).select_from(mailbox)).scalar_one(),
            )

    upgrade(db)
    assert counts() == (1, 1)
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    assert counts() == (1, 1)


def test_the_access_control_migration_turns_the_manager_role_into_a_flag(empty_database: Database) -> None:
    """Before 0009 a user's role was ``manager`` (Notify manager writes to them in turn) or ``admin``."""
    db = empty_database
    upgrade(db, "0008")
    with db.engine.begin() as conn:
        for email, role in (("mia@example.com", "manager"), ("root@example.com", "admin")):
            conn.execute(
                text("INSERT INTO users (email, name, role, created_at) VALUES (:email, 'x', :role, 0)"),
                {"email": email, "role": role},
            )
    upgrade(db)
    query = select(users.c.email, users.c.role, users.c.manager, users.c.active, users.c.password_hash)
    with db.engine.connect() as conn:
        rows = {row.email: tuple(row)[1:] for row in conn.execute(query.order_by(users.c.id))}
    assert rows == {"mia@example.com": ("analyst", True, True, None), "root@example.com": ("admin", False, True, None)}
    with pytest.raises(IntegrityError, match="ck_users_role"), db.engine.begin() as conn:
        conn.execute(update(users).values(role="manager"))

    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
    with db.engine.connect() as conn:
        assert dict(conn.execute(text("SELECT email, role FROM users")).all()) == {
            "mia@example.com": "manager",
            "root@example.com": "admin",
        }
