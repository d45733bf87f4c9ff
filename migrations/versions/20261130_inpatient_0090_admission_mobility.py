"""inpatient: the admission's mobility (ambulatory / wheelchair / bedridden / life support), set by the nurse

Revision ID: inpatient_0090
Revises: inpatient_0060
Create Date: 2026-11-30 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "inpatient_0090"
down_revision: str | Sequence[str] | None = "inpatient_0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mobility", sa.String(length=16), server_default="ambulatory", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("admissions", schema=None) as batch_op:
        batch_op.drop_column("mobility")
