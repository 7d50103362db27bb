"""trigger catalogue: a segment trigger listens for customers entering or leaving its segment

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_triggers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("segment_change", sa.String(length=8), server_default="entered", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_campaign_triggers_segment_change"), "segment_change IN ('entered', 'left')"
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_triggers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_campaign_triggers_segment_change"), type_="check")
        batch_op.drop_column("segment_change")
