"""pharmacy: decoction machines, runs and traced steps

Revision ID: pharmacy_0112
Revises: pharmacy_0052
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "pharmacy_0112"
down_revision: str | Sequence[str] | None = "pharmacy_0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "outpatient_0111"


def upgrade() -> None:
    op.create_table(
        "decoction_machines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("bound_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_decoction_machines_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["herbal_prescriptions.id"],
            name=op.f("fk_decoction_machines_prescription_id_herbal_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decoction_machines")),
        sa.UniqueConstraint("code", name=op.f("uq_decoction_machines_code")),
    )
    with op.batch_alter_table("decoction_machines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decoction_machines_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "decoction_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dispensed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("machine_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("soak_started_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decoct_started_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rest_added_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("late_added_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("volume_ml", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reworks", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("courier", sa.String(length=40), nullable=False),
        sa.Column("signed_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispensed_by"], ["users.id"], name=op.f("fk_decoction_runs_dispensed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["machine_id"],
            ["decoction_machines.id"],
            name=op.f("fk_decoction_runs_machine_id_decoction_machines"),
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["herbal_prescriptions.id"],
            name=op.f("fk_decoction_runs_prescription_id_herbal_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decoction_runs")),
        sa.UniqueConstraint("prescription_id", name=op.f("uq_decoction_runs_prescription_id")),
    )

    op.create_table(
        "decoction_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_state", sa.String(length=8), nullable=False),
        sa.Column("to_state", sa.String(length=8), nullable=False),
        sa.Column("operator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("operator_name", sa.String(length=40), nullable=False),
        sa.Column("machine_code", sa.String(length=16), nullable=False),
        sa.Column("at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_decoction_steps_operator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["herbal_prescriptions.id"],
            name=op.f("fk_decoction_steps_prescription_id_herbal_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decoction_steps")),
    )
    with op.batch_alter_table("decoction_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decoction_steps_prescription_id"), ["prescription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("decoction_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decoction_steps_prescription_id"))

    op.drop_table("decoction_steps")
    op.drop_table("decoction_runs")
    with op.batch_alter_table("decoction_machines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decoction_machines_institution_id"))

    op.drop_table("decoction_machines")
