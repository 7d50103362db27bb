"""status checks: journey, entry, message and loyalty request statuses are CHECK-constrained

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The values as of this revision (tidings.model.statuses); a later change of a vocabulary is a later migration.
STATUSES = {
    "journey_state": ("waiting", "claimed"),
    "entries": ("active", "completed", "stopped"),
    "messages": (
        "queued",
        "sending",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "bounced",
        "failed",
        "undeliverable",
    ),
    "loyalty_requests": ("pending", "done", "failed"),
}


@contextmanager
def _mailbox_kept() -> Iterator[None]:
    """SQLite adds or drops a constraint by rebuilding the table (batch mode). Dropping the old ``messages`` table
    would cascade to the ``mailbox`` rows that reference it (foreign keys are on), so they are kept aside."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("CREATE TEMP TABLE mailbox_kept AS SELECT * FROM mailbox")
    yield
    op.execute("INSERT INTO mailbox SELECT * FROM mailbox_kept")
    op.execute("DROP TABLE mailbox_kept")


def upgrade() -> None:
    with _mailbox_kept():
        for table, values in STATUSES.items():
            allowed = ", ".join(f"'{value}'" for value in values)
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.create_check_constraint(op.f(f"ck_{table}_status"), f"status IN ({allowed})")


def downgrade() -> None:
    with _mailbox_kept():
        for table in reversed(STATUSES):
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
