"""chunk locks: a chunk claims journey rows by locking them, so the claim columns and their indexes go

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tidings.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'waiting'")
CLAIMED = sa.text("status = 'claimed'")


def upgrade() -> None:
    with op.batch_alter_table("journey_state", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_state_due", postgresql_where=WAITING, sqlite_where=WAITING)
        batch_op.drop_index("ix_journey_state_claimed", postgresql_where=CLAIMED, sqlite_where=CLAIMED)
        batch_op.drop_index("ix_journey_state_claim_entry")
        batch_op.drop_index("ix_journey_state_node")
        batch_op.drop_constraint(op.f("ck_journey_state_status"), type_="check")
        for column in ("status", "claim_id", "claimed_until", "outcome"):
            batch_op.drop_column(column)
        batch_op.create_index("ix_journey_state_node_due", ["campaign_id", "node_id", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("journey_state", schema=None) as batch_op:
        batch_op.drop_index("ix_journey_state_node_due")
        batch_op.add_column(sa.Column("status", sa.String(8), nullable=False, server_default="waiting"))
        batch_op.add_column(sa.Column("claim_id", sa.String(36)))
        batch_op.add_column(sa.Column("claimed_until", tidings.store.types.Timestamp()))
        batch_op.add_column(sa.Column("outcome", sa.String(96)))
        batch_op.create_check_constraint(op.f("ck_journey_state_status"), "status IN ('waiting', 'claimed')")
        batch_op.create_index("ix_journey_state_node", ["campaign_id", "node_id"], unique=False)
        batch_op.create_index("ix_journey_state_claim_entry", ["claim_id", "entry_id"], unique=False)
        batch_op.create_index(
            "ix_journey_state_claimed", ["claimed_until"], unique=False, postgresql_where=CLAIMED, sqlite_where=CLAIMED
        )
        batch_op.create_index(
            "ix_journey_state_due", ["due_at"], unique=False, postgresql_where=WAITING, sqlite_where=WAITING
        )
