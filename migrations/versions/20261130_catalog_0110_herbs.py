"""catalog: herbal slice catalogue (中药饮片)

Revision ID: catalog_0110
Revises: catalog_0050
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "catalog_0110"
down_revision: str | Sequence[str] | None = "catalog_0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "herbs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("price_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("usual_min_g", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("usual_max_g", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("max_g", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("toxic", sa.Boolean(), nullable=False),
        sa.Column("pregnancy", sa.String(length=4), nullable=False),
        sa.Column("handling", sa.String(length=4), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_herbs")),
        sa.UniqueConstraint("code", name=op.f("uq_herbs_code")),
    )
    with op.batch_alter_table("herbs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_herbs_name"), ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("herbs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_herbs_name"))

    op.drop_table("herbs")
