"""fire slices: a whole-base fire enters its audience in slices by customer id and remembers the last one done

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_triggers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fire_cursor", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_triggers", schema=None) as batch_op:
        batch_op.drop_column("fire_cursor")
