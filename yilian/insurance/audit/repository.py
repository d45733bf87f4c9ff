"""Every query of the smart insurance audit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, false, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from yilian.insurance.audit.models import (
    AuditClaimLine,
    AuditFinding,
    AuditFindingDepartment,
    AuditFindingEvent,
    AuditRuleLibrary,
    AuditRun,
)
from yilian.kit.db import paginate


def active_library(session: Session) -> AuditRuleLibrary | None:
    return session.scalar(select(AuditRuleLibrary).where(AuditRuleLibrary.active.is_(True)))


def library_by_version(session: Session, version: str) -> AuditRuleLibrary | None:
    return session.scalar(select(AuditRuleLibrary).where(AuditRuleLibrary.version == version))


def list_libraries(session: Session) -> Sequence[AuditRuleLibrary]:
    return session.scalars(select(AuditRuleLibrary).order_by(AuditRuleLibrary.id.desc())).all()


def deactivate_libraries(session: Session) -> None:
    session.execute(update(AuditRuleLibrary).values(active=False))


def add(session: Session, row: Any) -> None:
    session.add(row)
    session.flush()


def insert_lines(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(AuditClaimLine), rows)


def delete_lines_of_source(session: Session, source: str) -> int:
    result = session.execute(delete(AuditClaimLine).where(AuditClaimLine.source == source))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def existing_line_ids(session: Session, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        found.update(session.scalars(select(AuditClaimLine.line_id).where(AuditClaimLine.line_id.in_(chunk))))
    return found


def line_columns(session: Session, date_from: date, date_to: date) -> dict[str, list[Any]]:
    """Stored lines of the period, column-wise (for loading into the batch engine)."""
    cols = [c for c in AuditClaimLine.__table__.columns if c.name != "source"]
    result = session.execute(
        select(*cols)
        .where(AuditClaimLine.service_date.between(date_from, date_to))
        .order_by(AuditClaimLine.line_id)
    )
    rows = result.all()
    return {c.name: [r[i] for r in rows] for i, c in enumerate(cols)}


def count_lines(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditClaimLine)) or 0)


def insert_findings(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert findings; returns their ids in the order of ``rows``."""
    if not rows:
        return []
    stmt = insert(AuditFinding).returning(AuditFinding.id, sort_by_parameter_order=True)
    return list(session.scalars(stmt, rows))


def insert_finding_departments(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(AuditFindingDepartment), rows)


def get_run(session: Session, run_id: int) -> AuditRun | None:
    return session.get(AuditRun, run_id)


def list_runs(session: Session, offset: int, limit: int) -> tuple[list[AuditRun], int]:
    return paginate(session, select(AuditRun).order_by(AuditRun.id.desc()), offset, limit)


def findings_scope_clause(
    *, institution_prefix: str | None, departments: frozenset[str], bare: bool
) -> ColumnElement[bool]:
    """Findings someone of limited scope sees: those without a department, and those with a department
    of theirs (``departments``), of their institution (``institution_prefix``: ``NTGH/``) or, with
    ``bare``, a department code not qualified by any institution (a claim file of one hospital)."""
    dept = AuditFindingDepartment
    own: list[ColumnElement[bool]] = []
    if departments:
        own.append(dept.department.in_(sorted(departments)))
    if institution_prefix:
        own.append(dept.department.startswith(institution_prefix, autoescape=True))
    if bare:
        own.append(~dept.department.contains("/"))
    of_finding = dept.finding_id == AuditFinding.id
    return or_(
        ~exists().where(of_finding),
        exists().where(of_finding, or_(*own)) if own else false(),
    )


def findings_query(
    run_id: int | None = None,
    *,
    scope: ColumnElement[bool] | None = None,
    status: str | None = None,
    severity: str | None = None,
    family: str | None = None,
    rule_id: str | None = None,
    claim_id: str | None = None,
    department: str | None = None,
) -> Select[Any]:
    q = select(AuditFinding).options(selectinload(AuditFinding.department_rows))
    if scope is not None:
        q = q.where(scope)
    if run_id is not None:
        q = q.where(AuditFinding.run_id == run_id)
    if status:
        q = q.where(AuditFinding.status == status)
    if severity:
        q = q.where(AuditFinding.severity == severity)
    if family:
        q = q.where(AuditFinding.family == family)
    if rule_id:
        q = q.where(AuditFinding.rule_id == rule_id)
    if claim_id:
        q = q.where(AuditFinding.claim_id == claim_id)
    if department:
        q = q.where(
            AuditFinding.id.in_(
                select(AuditFindingDepartment.finding_id).where(
                    AuditFindingDepartment.department == department
                )
            )
        )
    return q.order_by(AuditFinding.amount.desc(), AuditFinding.id)


def list_findings(
    session: Session, query: Select[Any], offset: int, limit: int
) -> tuple[list[AuditFinding], int]:
    return paginate(session, query, offset, limit)


def all_findings(session: Session, query: Select[Any]) -> Sequence[AuditFinding]:
    return session.scalars(query).all()


def run_departments(session: Session, run_id: int) -> list[str]:
    """The department codes the findings of a run involve, sorted."""
    return list(
        session.scalars(
            select(AuditFindingDepartment.department)
            .join(AuditFinding, AuditFinding.id == AuditFindingDepartment.finding_id)
            .where(AuditFinding.run_id == run_id)
            .distinct()
            .order_by(AuditFindingDepartment.department)
        )
    )


def get_finding(
    session: Session, finding_id: int, *, lock: bool = False, scope: ColumnElement[bool] | None = None
) -> AuditFinding | None:
    q = (
        select(AuditFinding)
        .where(AuditFinding.id == finding_id)
        .options(selectinload(AuditFinding.department_rows))
    )
    if scope is not None:
        q = q.where(scope)
    if lock:
        q = q.with_for_update()
    return session.scalar(q)


def finding_events(session: Session, finding_id: int) -> Sequence[AuditFindingEvent]:
    return session.scalars(
        select(AuditFindingEvent)
        .where(AuditFindingEvent.finding_id == finding_id)
        .order_by(AuditFindingEvent.id)
    ).all()


def finding_totals(session: Session, start: date, end: date) -> list[tuple[date | None, str, int, int]]:
    """(service date, status, findings, amount) of the findings of services in [start, end] (analytics)."""
    q = (
        select(
            AuditFinding.service_date,
            AuditFinding.status,
            func.count(),
            func.coalesce(func.sum(AuditFinding.amount), 0),
        )
        .where(AuditFinding.service_date >= start, AuditFinding.service_date <= end)
        .group_by(AuditFinding.service_date, AuditFinding.status)
    )
    return [(r[0], str(r[1]), int(r[2]), int(r[3])) for r in session.execute(q)]
