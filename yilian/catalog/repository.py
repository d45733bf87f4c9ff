"""Every query of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from yilian.catalog.models import CatalogItem, DiagnosisCode, ProcedureCode
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


CodeModel = type[DiagnosisCode] | type[ProcedureCode]


def search_diagnoses(
    session: Session, *, q: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[DiagnosisCode], int]:
    return search_codes(session, DiagnosisCode, q=q, offset=offset, limit=limit)


def search_codes(
    session: Session, model: Any, *, q: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[Any], int]:
    """Active codes of a table by code prefix, name part or pinyin-initials prefix."""
    query = select(model).where(model.is_active.is_(True))
    q = q.strip()
    if q:
        code_prefix = q[:1].upper() + q[1:]
        query = query.where(
            or_(
                model.code.startswith(code_prefix, autoescape=True),
                model.name.contains(q, autoescape=True),
                model.name_initials.startswith(q.lower(), autoescape=True),
            )
        )
    return paginate(session, query.order_by(model.code), offset, limit)


def codes_by_code(session: Session, model: Any, codes: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    unique = list(dict.fromkeys(codes))
    for i in range(0, len(unique), 500):
        for row in session.scalars(select(model).where(model.code.in_(unique[i : i + 500]))):
            found[row.code] = row
    return found


def code_count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def all_codes(session: Session, model: Any) -> set[str]:
    return set(session.scalars(select(model.code)))


def active_names(session: Session, model: Any) -> dict[str, str]:
    rows = session.execute(select(model.code, model.name).where(model.is_active.is_(True)))
    return {code: name for code, name in rows}


def bulk_insert_codes(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 5000):
        session.execute(insert(model), rows[i : i + 5000])
