"""results: the electrocardiogram (常规十二导联心电图) as a recognisable study of the catalogue

Revision ID: results_0460
Revises: results_0080
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "results_0460"
down_revision: str | Sequence[str] | None = "results_0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (the live catalogue in yilian.results.domain may change, this migration must not):
# a study with a report like imaging, DICOM modality ECG, LOINC 11524-6 (EKG study).
ECG_ITEM = {
    "code": "ECG-12",
    "name": "常规十二导联心电图",
    "kind": "imaging",
    "validity_days": 7,
    "price_fen": 2500,
    "unit": "",
    "specimen": "",
    "discipline": "心电诊断",
    "modality": "ECG",
    "body_part": "HEART",
    "hr": True,
    "loinc": "11524-6",
    "is_active": True,
}


def upgrade() -> None:
    items = sa.table("results_items", *(sa.column(c) for c in ECG_ITEM))
    op.bulk_insert(items, [ECG_ITEM])


def downgrade() -> None:
    items = sa.table("results_items", sa.column("code"))
    op.execute(items.delete().where(items.c.code == ECG_ITEM["code"]))
