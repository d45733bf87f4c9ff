"""kit: scheduled job runs (定时任务), one row per job and period, claimed by one server process

Revision ID: kit_0001
Revises: foundation
Create Date: 2026-11-28 16:42:53.067550
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "kit_0001"
down_revision: str | Sequence[str] | None = "foundation"
branch_labels: str | Sequence[str] | None = ("kit",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("started_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("job", "period", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
