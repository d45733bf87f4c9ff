"""billing: a registration fee on credit (记账挂号) is a charge of its registration

Revision ID: billing_0003
Revises: billing_0002
Create Date: 2026-11-28 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "billing_0003"
down_revision: str | Sequence[str] | None = "billing_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("scheduling_0001",)


def upgrade() -> None:
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("booking_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.alter_column(
            "order_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )
        batch_op.create_unique_constraint(batch_op.f("uq_charges_booking_id"), ["booking_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_charges_booking_id_sched_bookings"), "sched_bookings", ["booking_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_charges_booking_id_sched_bookings"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_charges_booking_id"), type_="unique")
        batch_op.alter_column(
            "order_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )
        batch_op.drop_column("booking_id")
