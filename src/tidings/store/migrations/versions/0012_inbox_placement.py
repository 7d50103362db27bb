"""inbox placement: the e-mail suppression list and the refused provider / bounce-mailbox reports

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tidings.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_suppressions",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", tidings.store.types.Timestamp(), nullable=False),
        sa.CheckConstraint("reason IN ('hard_bounce', 'complaint')", name=op.f("ck_email_suppressions_reason")),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_email_suppressions")),
    )
    op.create_table(
        "feedback_reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", tidings.store.types.Timestamp(), nullable=False),
        sa.CheckConstraint("outcome IN ('refused')", name=op.f("ck_feedback_reports_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_reports")),
    )
    op.create_index("ix_feedback_reports_received", "feedback_reports", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_feedback_reports_received", table_name="feedback_reports")
    op.drop_table("feedback_reports")
    op.drop_table("email_suppressions")
