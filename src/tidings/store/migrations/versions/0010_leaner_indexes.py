"""leaner indexes: the delivery queue's index holds only messages still to send, the provider's id index only
messages that have one, entries lose the index of their trigger batch (a batch is found by a range of ids), and
the sandbox's mailbox loses its foreign key to messages (checked per row, it share-locked each message row: a
second write of every message delivered, and half the cost of the mailbox insert)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Queued and sending messages are the queue; bounced ones are read by the Viber → SMS cascade. A message sent,
# delivered or opened leaves the index, so its status updates no longer add entries to it. SQLite keeps the whole
# index: its planner uses a partial index only when the query repeats the index's condition.
PENDING = text("status IN ('queued', 'sending', 'bounced')")
HAS_PROVIDER_ID = text("provider_message_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_mailbox_message_id_messages", type_="foreignkey")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_trigger_batch")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_queue")
        batch_op.drop_index("ix_messages_provider_message_id")
        batch_op.create_index("ix_messages_queue", ["status", "send_after"], postgresql_where=PENDING)
        batch_op.create_index(
            "ix_messages_provider_message_id",
            ["provider", "provider_message_id"],
            postgresql_where=HAS_PROVIDER_ID,
            sqlite_where=HAS_PROVIDER_ID,
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_queue", postgresql_where=PENDING)
        batch_op.drop_index(
            "ix_messages_provider_message_id", postgresql_where=HAS_PROVIDER_ID, sqlite_where=HAS_PROVIDER_ID
        )
        batch_op.create_index("ix_messages_queue", ["status", "send_after"])
        batch_op.create_index("ix_messages_provider_message_id", ["provider", "provider_message_id"])
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_trigger_batch", ["trigger_batch"])
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_mailbox_message_id_messages", "messages", ["message_id"], ["id"], ondelete="CASCADE"
        )
