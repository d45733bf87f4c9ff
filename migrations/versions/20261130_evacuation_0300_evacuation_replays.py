"""evacuation: drill replays (演练回放)

Revision ID: evacuation_0300
Revises: evacuation_0091
Create Date: 2026-11-30 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yilian.kit.db

revision: str = "evacuation_0300"
down_revision: str | Sequence[str] | None = "evacuation_0091"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evac_replays",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("floor", ID, nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("requested_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("finished_at", yilian.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=400), nullable=False),
        sa.Column("plan_seconds", sa.Double(), nullable=True),
        sa.Column("nearest_seconds", sa.Double(), nullable=True),
        sa.Column("persons", ID, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["evac_events.id"], name=op.f("fk_evac_replays_event_id_evac_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evac_replays")),
    )
    with op.batch_alter_table("evac_replays", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evac_replays_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evac_replays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evac_replays_event_id"))
    op.drop_table("evac_replays")
