"""Every query of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yilian.catalog.models import CatalogItem, DiagnosisCode
from yilian.kit.db import paginate


def items_by_code(session: Session, codes: Sequence[str]) -> dict[str, CatalogItem]:
    if not codes:
        return {}
    return {i.code: i for i in session.scalars(select(CatalogItem).where(CatalogItem.code.in_(codes)))}


def item_by_code(session: Session, code: str) -> CatalogItem | None:
    return session.scalar(select(CatalogItem).where(CatalogItem.code == code))


def search_items(
    session: Session, *, q: str = "", kind: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[CatalogItem], int]:
    query = select(CatalogItem).where(CatalogItem.is_active.is_(True))
    if q:
        query = query.where(
            or_(
                CatalogItem.name.contains(q, autoescape=True),
                CatalogItem.code.startswith(q.upper()),
                CatalogItem.name_initials.startswith(q.lower(), autoescape=True),
            )
        )
    if kind:
        query = query.where(CatalogItem.kind == kind)
    return paginate(session, query.order_by(CatalogItem.kind, CatalogItem.code), offset, limit)


def diagnoses_by_code(session: Session, codes: Sequence[str]) -> dict[str, DiagnosisCode]:
    if not codes:
        return {}
    return {d.code: d for d in session.scalars(select(DiagnosisCode).where(DiagnosisCode.code.in_(codes)))}


def search_diagnoses(
    session: Session, *, q: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[DiagnosisCode], int]:
    query = select(DiagnosisCode).where(DiagnosisCode.is_active.is_(True))
    if q:
        query = query.where(
            or_(DiagnosisCode.code.startswith(q.upper()), DiagnosisCode.name.contains(q, autoescape=True))
        )
    return paginate(session, query.order_by(DiagnosisCode.code), offset, limit)
