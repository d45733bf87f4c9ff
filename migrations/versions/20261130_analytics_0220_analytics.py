"""analytics: monthly facts, distinct keys, refresh log, stored monthly reports

Revision ID: analytics_0220
Revises: foundation
Create Date: 2026-11-30 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "analytics_0220"
down_revision: str | Sequence[str] | None = "foundation"
branch_labels: str | Sequence[str] | None = ("analytics",)
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_facts",
        sa.Column("id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("value", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_facts")),
        sa.UniqueConstraint(
            "month",
            "institution_id",
            "department_id",
            "measure",
            name=op.f("uq_analytics_facts_month_institution_id_department_id_measure"),
        ),
    )
    op.create_index("ix_analytics_facts_measure_month", "analytics_facts", ["measure", "month"], unique=False)
    op.create_table(
        "analytics_fact_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("key", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_fact_keys")),
    )
    op.create_index(
        "ix_analytics_fact_keys_measure_month", "analytics_fact_keys", ["measure", "month"], unique=False
    )
    op.create_table(
        "analytics_refreshes",
        sa.Column("id", ID, nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("rows", ID, nullable=False),
        sa.Column("milliseconds", ID, nullable=False),
        sa.Column("finished_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_refreshes")),
    )
    op.create_table(
        "analytics_reports",
        sa.Column("id", ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("institution_id", ID, nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_reports")),
        sa.UniqueConstraint(
            "month", "institution_id", "format", name=op.f("uq_analytics_reports_month_institution_id_format")
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_reports")
    op.drop_table("analytics_refreshes")
    op.drop_index("ix_analytics_fact_keys_measure_month", table_name="analytics_fact_keys")
    op.drop_table("analytics_fact_keys")
    op.drop_index("ix_analytics_facts_measure_month", table_name="analytics_facts")
    op.drop_table("analytics_facts")
