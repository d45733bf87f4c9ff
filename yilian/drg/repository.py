"""Queries of the DRG area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from yilian.drg.domain import GroupStatus
from yilian.drg.models import (
    DrgAdrg,
    DrgBaseRate,
    DrgBatch,
    DrgCase,
    DrgComplication,
    DrgExclusion,
    DrgGroup,
    DrgMdc,
    DrgScheme,
)


def scheme_by_code(session: Session, code: str) -> DrgScheme | None:
    return session.scalars(select(DrgScheme).where(DrgScheme.code == code)).one_or_none()


def schemes(session: Session) -> Sequence[DrgScheme]:
    return session.scalars(select(DrgScheme).order_by(DrgScheme.code)).all()


def delete_scheme_tables(session: Session, scheme_id: int) -> None:
    for model in (DrgMdc, DrgAdrg, DrgGroup, DrgComplication, DrgExclusion):
        session.execute(delete(model).where(model.scheme_id == scheme_id))


def bulk_insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), rows)


def mdcs(session: Session, scheme_id: int) -> Sequence[DrgMdc]:
    return session.scalars(select(DrgMdc).where(DrgMdc.scheme_id == scheme_id).order_by(DrgMdc.seq)).all()


def adrgs(session: Session, scheme_id: int) -> Sequence[DrgAdrg]:
    return session.scalars(select(DrgAdrg).where(DrgAdrg.scheme_id == scheme_id).order_by(DrgAdrg.seq)).all()


def groups(session: Session, scheme_id: int) -> Sequence[DrgGroup]:
    return session.scalars(
        select(DrgGroup).where(DrgGroup.scheme_id == scheme_id).order_by(DrgGroup.code)
    ).all()


def complications(session: Session, scheme_id: int) -> Sequence[DrgComplication]:
    return session.scalars(select(DrgComplication).where(DrgComplication.scheme_id == scheme_id)).all()


def exclusions(session: Session, scheme_id: int) -> Sequence[DrgExclusion]:
    return session.scalars(select(DrgExclusion).where(DrgExclusion.scheme_id == scheme_id)).all()


def base_rates(session: Session, scheme_id: int) -> Sequence[DrgBaseRate]:
    return session.scalars(select(DrgBaseRate).where(DrgBaseRate.scheme_id == scheme_id)).all()


def base_rate(session: Session, scheme_id: int, level: str) -> DrgBaseRate | None:
    return session.scalars(
        select(DrgBaseRate).where(DrgBaseRate.scheme_id == scheme_id, DrgBaseRate.institution_level == level)
    ).one_or_none()


def batch(session: Session, batch_id: int) -> DrgBatch | None:
    return session.get(DrgBatch, batch_id)


def batch_by_name(session: Session, scheme_id: int, name: str) -> DrgBatch | None:
    return session.scalar(select(DrgBatch).where(DrgBatch.scheme_id == scheme_id, DrgBatch.name == name))


def case_by_record_no(session: Session, batch_id: int, record_no: str) -> DrgCase | None:
    return session.scalar(select(DrgCase).where(DrgCase.batch_id == batch_id, DrgCase.record_no == record_no))


def batches(session: Session, limit: int = 50) -> Sequence[DrgBatch]:
    return session.scalars(select(DrgBatch).order_by(DrgBatch.id.desc()).limit(limit)).all()


def cases(session: Session, batch_id: int, department: str | None = None) -> Sequence[DrgCase]:
    q = select(DrgCase).where(DrgCase.batch_id == batch_id)
    if department:
        q = q.where(DrgCase.department == department)
    return session.scalars(q.order_by(DrgCase.id)).all()


def case_count(session: Session, batch_id: int) -> int:
    return int(
        session.scalar(select(func.count()).select_from(DrgCase).where(DrgCase.batch_id == batch_id)) or 0
    )


def grouped_case_totals(
    session: Session, start: date, end: date
) -> list[tuple[date, int, Decimal, int, int]]:
    """(discharge date, grouped cases, summed weight, cost, payment) of every batch (analytics)."""
    q = (
        select(
            DrgCase.discharge_date,
            func.count(),
            func.coalesce(func.sum(DrgCase.weight), 0),
            func.coalesce(func.sum(DrgCase.total_cost_fen), 0),
            func.coalesce(func.sum(DrgCase.payment_fen), 0),
        )
        .where(
            DrgCase.status == GroupStatus.GROUPED.value,
            DrgCase.weight.is_not(None),
            DrgCase.discharge_date >= start,
            DrgCase.discharge_date <= end,
        )
        .group_by(DrgCase.discharge_date)
    )
    return [
        (r[0], int(r[1]), Decimal(r[2] or 0), int(r[3]), int(r[4]))
        for r in session.execute(q)
        if r[0] is not None
    ]
