"""analytics: distinct facts (keys of a month counted by the month they were last seen before), so the
dashboards' distinct counts read a few rows per month instead of the keys

Revision ID: analytics_0500
Revises: analytics_0220
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "analytics_0500"
down_revision: str | Sequence[str] | None = "analytics_0220"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_distinct_facts",
        sa.Column("id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("grain", sa.String(length=12), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("seen_before", sa.Date(), nullable=True),
        sa.Column("value", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_distinct_facts")),
    )
    op.create_index(
        "ix_analytics_distinct_facts_grain_month",
        "analytics_distinct_facts",
        ["grain", "month"],
        unique=False,
    )
    op.create_index("ix_analytics_fact_keys_month", "analytics_fact_keys", ["month"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_analytics_fact_keys_month", table_name="analytics_fact_keys")
    op.drop_index("ix_analytics_distinct_facts_grain_month", table_name="analytics_distinct_facts")
    op.drop_table("analytics_distinct_facts")
