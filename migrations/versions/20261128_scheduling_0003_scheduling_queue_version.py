"""scheduling: a queue version per schedule, bumped by every queue change (live displays poll it)

Revision ID: scheduling_0003
Revises: scheduling_0002
Create Date: 2026-11-28 16:19:57.934432
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "scheduling_0003"
down_revision: str | Sequence[str] | None = "scheduling_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sched_schedules", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "queue_version",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                server_default="0",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sched_schedules", schema=None) as batch_op:
        batch_op.drop_column("queue_version")
