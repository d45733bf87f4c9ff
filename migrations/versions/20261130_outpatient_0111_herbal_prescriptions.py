"""outpatient: herbal prescriptions and their lines

Revision ID: outpatient_0111
Revises: outpatient_0051
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "outpatient_0111"
down_revision: str | Sequence[str] | None = "outpatient_0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "catalog_0110"


def upgrade() -> None:
    op.create_table(
        "herbal_prescriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("encounter_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("doctor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("doctor_name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("formula_class", sa.String(length=8), nullable=False),
        sa.Column("doses", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("decoct", sa.Boolean(), nullable=False),
        sa.Column("bag_ml", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bags_per_dose", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("child", sa.Boolean(), nullable=False),
        sa.Column("pregnant", sa.Boolean(), nullable=False),
        sa.Column("instructions", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("review_reason", sa.String(length=200), nullable=False),
        sa.Column("reviewed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cosigned_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("track_token", sa.String(length=32), nullable=False),
        sa.Column("created_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("promised_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("doses > 0", name=op.f("ck_herbal_prescriptions_doses_positive")),
        sa.ForeignKeyConstraint(
            ["cosigned_by"], ["users.id"], name=op.f("fk_herbal_prescriptions_cosigned_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"], ["users.id"], name=op.f("fk_herbal_prescriptions_doctor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_herbal_prescriptions_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_herbal_prescriptions_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_herbal_prescriptions_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_herbal_prescriptions_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_herbal_prescriptions")),
        sa.UniqueConstraint("track_token", name=op.f("uq_herbal_prescriptions_track_token")),
    )
    with op.batch_alter_table("herbal_prescriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_herbal_prescriptions_encounter_id"), ["encounter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_herbal_prescriptions_institution_id"), ["institution_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_herbal_prescriptions_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_herbal_prescriptions_status"), ["status"], unique=False)

    op.create_table(
        "herbal_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("prescription_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("herb_code", sa.String(length=32), nullable=False),
        sa.Column("herb_name", sa.String(length=40), nullable=False),
        sa.Column("grams", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("handling", sa.String(length=4), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("grams > 0", name=op.f("ck_herbal_lines_grams_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_herbal_lines_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["herbal_prescriptions.id"],
            name=op.f("fk_herbal_lines_prescription_id_herbal_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_herbal_lines")),
    )
    with op.batch_alter_table("herbal_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_herbal_lines_prescription_id"), ["prescription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("herbal_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_herbal_lines_prescription_id"))

    op.drop_table("herbal_lines")
    with op.batch_alter_table("herbal_prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_herbal_prescriptions_encounter_id"))
        batch_op.drop_index(batch_op.f("ix_herbal_prescriptions_institution_id"))
        batch_op.drop_index(batch_op.f("ix_herbal_prescriptions_patient_id"))
        batch_op.drop_index(batch_op.f("ix_herbal_prescriptions_status"))

    op.drop_table("herbal_prescriptions")
