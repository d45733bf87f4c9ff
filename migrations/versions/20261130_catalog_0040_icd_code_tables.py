"""catalog: ICD-10 and ICD-9-CM-3 医保版 code tables with pinyin initials; longer diagnosis codes

Revision ID: catalog_0040
Revises: catalog_0002
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0040"
down_revision: str | Sequence[str] | None = "catalog_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("diagnosis_codes", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=16), type_=sa.String(length=32))
        batch_op.add_column(
            sa.Column("name_initials", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_diagnosis_codes_name_initials"), ["name_initials"], unique=False)
    op.create_table(
        "procedure_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_initials", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_procedure_codes")),
    )
    with op.batch_alter_table("procedure_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procedure_codes_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_procedure_codes_name_initials"), ["name_initials"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("procedure_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procedure_codes_name_initials"))
        batch_op.drop_index(batch_op.f("ix_procedure_codes_name"))
    op.drop_table("procedure_codes")
    with op.batch_alter_table("diagnosis_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnosis_codes_name_initials"))
        batch_op.drop_column("name_initials")
        batch_op.alter_column("code", existing_type=sa.String(length=32), type_=sa.String(length=16))
