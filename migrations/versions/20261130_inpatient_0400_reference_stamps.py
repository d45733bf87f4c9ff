"""inpatient: a stamp per institution that changes with its wards, rooms and relation table (the bed
office's cache of those tables checks it)

Revision ID: inpatient_0400
Revises: inpatient_0090
Create Date: 2026-11-30 11:10:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db  # noqa: F401

revision: str = "inpatient_0400"
down_revision: str | Sequence[str] | None = "inpatient_0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inpatient_reference_stamps",
        sa.Column("institution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_inpatient_reference_stamps_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("institution_id", name=op.f("pk_inpatient_reference_stamps")),
    )
    # institutions that already have wards get their first stamp (a random token each)
    bind = op.get_bind()
    institutions = bind.execute(sa.text("SELECT DISTINCT institution_id FROM wards")).scalars().all()
    for institution_id in institutions:
        bind.execute(
            sa.text("INSERT INTO inpatient_reference_stamps (institution_id, stamp) VALUES (:i, :s)"),
            {"i": institution_id, "s": secrets.token_hex(16)},
        )


def downgrade() -> None:
    op.drop_table("inpatient_reference_stamps")
