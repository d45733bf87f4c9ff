"""drg: the operating-room procedure list (手术室手术) of each scheme; unknown codes of a case

Revision ID: drg_0040
Revises: drg_0001
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "drg_0040"
down_revision: str | Sequence[str] | None = "drg_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drg_schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("or_procedures", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("drg_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unknown_codes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("drg_cases", schema=None) as batch_op:
        batch_op.drop_column("unknown_codes")
    with op.batch_alter_table("drg_schemes", schema=None) as batch_op:
        batch_op.drop_column("or_procedures")
