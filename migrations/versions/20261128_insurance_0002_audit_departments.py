"""insurance audit: department (科室编码) of claim lines and of findings, for 科室申诉

Revision ID: insurance_0002
Revises: insurance_0001
Create Date: 2026-11-28 16:47:29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "insurance_0002"
down_revision: str | Sequence[str] | None = "insurance_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_finding_departments",
        sa.Column("finding_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_audit_finding_departments_finding_id_audit_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding_id", "department", name=op.f("pk_audit_finding_departments")),
    )
    with op.batch_alter_table("audit_finding_departments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_finding_departments_department"), ["department"], unique=False
        )
    with op.batch_alter_table("audit_claim_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=32), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_claim_lines", schema=None) as batch_op:
        batch_op.drop_column("department")
    with op.batch_alter_table("audit_finding_departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_finding_departments_department"))
    op.drop_table("audit_finding_departments")
