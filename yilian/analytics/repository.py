"""Every query of analytics (its own tables only; the areas' figures come through their services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from yilian.analytics.models import Fact, FactKey, Refresh, Report
from yilian.kit.db import insert_rows, table_of

GROUPS = ("city", "institution", "department", "month")


def delete_months(session: Session, first: date, last: date) -> None:
    session.execute(delete(Fact).where(Fact.month >= first, Fact.month <= last))
    session.execute(delete(FactKey).where(FactKey.month >= first, FactKey.month <= last))


def insert_facts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(session, table_of(Fact), rows)


def insert_keys(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    insert_rows(session, table_of(FactKey), rows)


def _group_column(model: type[Fact] | type[FactKey], group: str) -> Any:
    return {
        "city": None,
        "institution": model.institution_id,
        "department": model.department_id,
        "month": model.month,
    }[group]


def _where(
    model: type[Fact] | type[FactKey], first: date, last: date, institution_id: int | None
) -> list[ColumnElement[bool]]:
    where = [model.month >= first, model.month <= last]
    if institution_id is not None:
        where.append(model.institution_id == institution_id)
    return where


def sums(
    session: Session,
    first: date,
    last: date,
    *,
    group: str = "city",
    institution_id: int | None = None,
    measures: Sequence[str] | None = None,
) -> dict[Any, dict[str, int]]:
    """Summed measures of the months in [first, last] by group (None is the key of "city")."""
    column = _group_column(Fact, group)
    cols = [Fact.measure, func.sum(Fact.value)]
    q = select(*([column] if column is not None else []), *cols).where(
        *_where(Fact, first, last, institution_id)
    )
    if measures is not None:
        q = q.where(Fact.measure.in_(list(measures)))
    q = q.group_by(*([column] if column is not None else []), Fact.measure)
    out: dict[Any, dict[str, int]] = {}
    for row in session.execute(q):
        key = row[0] if column is not None else None
        measure, total = (row[1], row[2]) if column is not None else (row[0], row[1])
        out.setdefault(key, {})[measure] = int(total or 0)
    return out


def distinct_counts(
    session: Session, first: date, last: date, *, group: str = "city", institution_id: int | None = None
) -> dict[Any, dict[str, int]]:
    """Distinct keys of the distinct measures over [first, last] by group."""
    column = _group_column(FactKey, group)
    q = select(
        *([column] if column is not None else []), FactKey.measure, func.count(func.distinct(FactKey.key))
    ).where(*_where(FactKey, first, last, institution_id))
    q = q.group_by(*([column] if column is not None else []), FactKey.measure)
    out: dict[Any, dict[str, int]] = {}
    for row in session.execute(q):
        key = row[0] if column is not None else None
        measure, n = (row[1], row[2]) if column is not None else (row[0], row[1])
        out.setdefault(key, {})[measure] = int(n or 0)
    return out


def add_refresh(session: Session, row: Refresh) -> None:
    session.add(row)


def last_refresh(session: Session) -> Refresh | None:
    return session.scalar(select(Refresh).order_by(Refresh.id.desc()).limit(1))


def find_report(session: Session, month: date, institution_id: int, fmt: str) -> Report | None:
    return session.scalar(
        select(Report).where(
            Report.month == month, Report.institution_id == institution_id, Report.format == fmt
        )
    )


def reports(session: Session, limit: int = 50) -> Sequence[Report]:
    return session.scalars(select(Report).order_by(Report.month.desc(), Report.id.desc()).limit(limit)).all()
