"""Every query of analytics (its own tables only; the areas' figures come through their services)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from yilian.analytics.models import DistinctFact, Fact, FactKey, Refresh, Report
from yilian.kit.db import insert_rows, table_of

GROUPS = ("city", "institution", "department", "month")


def delete_months(session: Session, first: date, last: date) -> None:
    session.execute(delete(Fact).where(Fact.month >= first, Fact.month <= last))
    session.execute(delete(FactKey).where(FactKey.month >= first, FactKey.month <= last))


def _copy_text(session: Session, table: str, columns: str, data: str) -> None:
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        copy.write(data)


def _plain(measures: Collection[str]) -> bool:
    """Measures are code-defined identifiers: nothing to escape in COPY's text format."""
    return all(m.isidentifier() for m in measures)


def insert_facts(session: Session, sums: dict[tuple[tuple[date, int, int], str], int]) -> None:
    """The monthly sums ((month, institution, department), measure) → value; on PostgreSQL one ``COPY``
    of text built in one join, like the keys."""
    if session.get_bind().dialect.name != "postgresql" or not _plain({m for _k, m in sums}):
        rows = [
            {"month": k[0], "institution_id": k[1], "department_id": k[2], "measure": m, "value": v}
            for (k, m), v in sums.items()
        ]
        insert_rows(session, table_of(Fact), rows)
        return
    if sums:
        data = "".join(
            f"{k[0].isoformat()}\t{int(k[1])}\t{int(k[2])}\t{m}\t{int(v)}\n" for (k, m), v in sums.items()
        )
        _copy_text(session, "analytics_facts", "month, institution_id, department_id, measure, value", data)


def insert_keys(session: Session, keys: Collection[tuple[tuple[date, int, int], str, int]]) -> None:
    """The keys of distinct measures ((month, institution, department), measure, key): on PostgreSQL one
    ``COPY`` of text built in one join (a year of a city is several hundred thousand keys; encoding them
    value by value took longer than reading them)."""
    if session.get_bind().dialect.name != "postgresql" or not _plain({m for _k, m, _v in keys}):
        rows = [
            {"month": k[0], "institution_id": k[1], "department_id": k[2], "measure": m, "key": v}
            for k, m, v in keys
        ]
        insert_rows(session, table_of(FactKey), rows)
        return
    if keys:
        data = "".join(f"{k[0].isoformat()}\t{int(k[1])}\t{int(k[2])}\t{m}\t{int(v)}\n" for k, m, v in keys)
        _copy_text(session, "analytics_fact_keys", "month, institution_id, department_id, measure, key", data)


def _group_column(model: type[Fact] | type[FactKey] | type[DistinctFact], group: str) -> Any:
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


def delete_distinct(session: Session, first: date, last: date) -> None:
    session.execute(delete(DistinctFact).where(DistinctFact.month >= first, DistinctFact.month <= last))


def derive_distinct(session: Session, source_first: date, first: date, last: date) -> None:
    """(Re)compute the distinct facts of the months [first, last] from the keys of [source_first, last]
    (``source_first``: 35 months before ``first``, the longest look-back a range needs), at each grain:
    per key and unit, the month it was last seen before (``lag``), counted by (month, unit, that month).
    One INSERT … SELECT per grain; no key leaves the database."""
    delete_distinct(session, first, last)
    units: dict[str, tuple[Any, Any]] = {
        "department": (FactKey.institution_id, FactKey.department_id),
        "institution": (FactKey.institution_id, literal(0)),
        "city": (literal(0), literal(0)),
    }
    for grain, (inst, dept) in units.items():
        keys: Select[Any] = select(
            FactKey.measure,
            FactKey.month,
            inst.label("institution_id"),
            dept.label("department_id"),
            FactKey.key,
        ).where(FactKey.month >= source_first, FactKey.month <= last)
        if grain != "department":  # a key of several departments (institutions) in a month counts once
            keys = keys.distinct()
        k = keys.subquery()
        lagged = select(
            k.c.measure,
            k.c.month,
            k.c.institution_id,
            k.c.department_id,
            func.lag(k.c.month)
            .over(
                partition_by=(k.c.measure, k.c.institution_id, k.c.department_id, k.c.key),
                order_by=k.c.month,
            )
            .label("seen_before"),
        ).subquery()
        counted = (
            select(
                lagged.c.month,
                literal(grain),
                lagged.c.institution_id,
                lagged.c.department_id,
                lagged.c.measure,
                lagged.c.seen_before,
                func.count(),
            )
            .where(lagged.c.month >= first)
            .group_by(
                lagged.c.month,
                lagged.c.institution_id,
                lagged.c.department_id,
                lagged.c.measure,
                lagged.c.seen_before,
            )
        )
        session.execute(
            insert(DistinctFact).from_select(
                ["month", "grain", "institution_id", "department_id", "measure", "seen_before", "value"],
                counted,
            )
        )


def distinct_counts(
    session: Session, first: date, last: date, *, group: str = "city", institution_id: int | None = None
) -> dict[Any, dict[str, int]]:
    """Distinct keys of the distinct measures over [first, last] by group, from the distinct facts: a
    key counts in the first month of the range it was seen in (``seen_before`` None or before ``first``);
    by month, every key of the month counts."""
    grain = {
        "city": "city" if institution_id is None else "institution",
        "institution": "institution",
        "department": "department",
        "month": "city" if institution_id is None else "institution",
    }[group]
    column = _group_column(DistinctFact, group)
    where: list[ColumnElement[bool]] = [
        DistinctFact.grain == grain,
        DistinctFact.month >= first,
        DistinctFact.month <= last,
    ]
    if institution_id is not None:
        where.append(DistinctFact.institution_id == institution_id)
    if group != "month":
        where.append(or_(DistinctFact.seen_before.is_(None), DistinctFact.seen_before < first))
    q = (
        select(*([column] if column is not None else []), DistinctFact.measure, func.sum(DistinctFact.value))
        .where(and_(*where))
        .group_by(*([column] if column is not None else []), DistinctFact.measure)
    )
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
