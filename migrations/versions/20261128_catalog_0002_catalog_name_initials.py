"""catalog: pinyin initials of item names (拼音首字母) for the doctor's order search

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-11-28 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pypinyin import Style, lazy_pinyin

revision: str = "catalog_0002"
down_revision: str | Sequence[str] | None = "catalog_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _mark_other(chars: str) -> list[str]:
    return ["\x00" + chars]  # not Chinese: kept as it is, marked


def name_initials(name: str) -> str:
    """The initials as computed when this revision was written (frozen copy of the catalogue's rule):
    pinyin initials in lower case, letters and digits that are not Chinese kept whole."""
    out: list[str] = []
    for part in lazy_pinyin(name, style=Style.NORMAL, errors=_mark_other):  # type: ignore[arg-type]
        if part.startswith("\x00"):
            out.extend(ch.lower() for ch in part[1:] if ch.isascii() and ch.isalnum())
        elif part:
            out.append(part[0].lower())
    return "".join(out)[:100]


def upgrade() -> None:
    with op.batch_alter_table("catalog_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_initials", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_catalog_items_name_initials"), ["name_initials"], unique=False)
    items = sa.table("catalog_items", sa.column("id", sa.Integer), sa.column("name", sa.String))
    conn = op.get_bind()
    for row in conn.execute(sa.select(items.c.id, items.c.name)).all():
        conn.execute(
            sa.text("UPDATE catalog_items SET name_initials = :v WHERE id = :id"),
            {"v": name_initials(row.name), "id": row.id},
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_items_name_initials"))
        batch_op.drop_column("name_initials")
