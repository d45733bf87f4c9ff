"""results: every delivery of an observation kept (results_revisions); comments and report time on results

Revision ID: results_0080
Revises: results_0001
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "results_0080"
down_revision: str | Sequence[str] | None = "results_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comment", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("reported_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "results_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("value_text", sa.String(length=200), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("reference_range", sa.String(length=40), nullable=False),
        sa.Column("abnormal_flag", sa.String(length=4), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("observed_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"], ["results.id"], name=op.f("fk_results_revisions_result_id_results")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results_revisions")),
    )
    with op.batch_alter_table("results_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_results_revisions_result_id"), ["result_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("results_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_revisions_result_id"))
    op.drop_table("results_revisions")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("reported_at")
        batch_op.drop_column("comment")
