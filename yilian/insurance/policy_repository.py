"""Queries of the insurance policy tables (医保待遇政策), the patients' year-to-date use and the personal
accounts; the use cases are in ``policy_service``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yilian.insurance.policy_models import InsurancePolicy, InsuranceYear, PersonalAccount
from yilian.kit.db import table_of


def policy(
    session: Session, *, region_code: str, scheme: str, tier: str, visit_type: str, year: int
) -> InsurancePolicy | None:
    """The policy row of a key, if there is one."""
    return session.scalar(
        select(InsurancePolicy).where(
            InsurancePolicy.region_code == region_code,
            InsurancePolicy.scheme == scheme,
            InsurancePolicy.tier == tier,
            InsurancePolicy.visit_type == visit_type,
            InsurancePolicy.year == year,
        )
    )


def policies(session: Session, where: Sequence[ColumnElement[bool]]) -> list[InsurancePolicy]:
    return list(session.scalars(select(InsurancePolicy).where(*where)))


def year_row(session: Session, patient_id: int, year: int, visit_type: str) -> InsuranceYear | None:
    return session.scalar(
        select(InsuranceYear).where(
            InsuranceYear.patient_id == patient_id,
            InsuranceYear.year == year,
            InsuranceYear.visit_type == visit_type,
        )
    )


def _years_of(ids: Sequence[int], year: int, visit_type: str) -> list[ColumnElement[bool]]:
    return [
        InsuranceYear.patient_id.in_(ids),
        InsuranceYear.year == year,
        InsuranceYear.visit_type == visit_type,
    ]


def patients_with_year(session: Session, ids: Sequence[int], year: int, visit_type: str) -> set[int]:
    return set(session.scalars(select(InsuranceYear.patient_id).where(*_years_of(ids, year, visit_type))))


def add_years(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Insert year rows, skipping any another transaction inserted meanwhile."""
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(InsuranceYear)
    session.execute(stmt.on_conflict_do_nothing(), rows)


def years_locked(
    session: Session, ids: Sequence[int], year: int, visit_type: str
) -> list[tuple[int, int, int]]:
    """(patient, deductible used, fund paid) of the patients, locked in patient order on PostgreSQL."""
    query = (
        select(InsuranceYear.patient_id, InsuranceYear.deductible_used, InsuranceYear.fund_paid)
        .where(*_years_of(ids, year, visit_type))
        .order_by(InsuranceYear.patient_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return [(p, d, f) for p, d, f in session.execute(query)]


def update_years(session: Session, year: int, visit_type: str, values: Sequence[dict[str, int]]) -> None:
    """Set ``d`` (deductible used) and ``f`` (fund paid) of each ``pid``'s year row."""
    years = table_of(InsuranceYear)
    session.execute(
        update(years)
        .where(years.c.patient_id == bindparam("pid"), years.c.year == year, years.c.visit_type == visit_type)
        .values(deductible_used=bindparam("d"), fund_paid=bindparam("f")),
        values,
    )


def debit(session: Session, patient_id: int, amount: int) -> bool:
    """Take ``amount`` from a personal account when the balance covers it; tell whether it did."""
    result = session.execute(
        update(PersonalAccount)
        .where(PersonalAccount.patient_id == patient_id, PersonalAccount.balance >= amount)
        .values(balance=PersonalAccount.balance - amount)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def credit(session: Session, patient_id: int, amount: int) -> None:
    session.execute(
        update(PersonalAccount)
        .where(PersonalAccount.patient_id == patient_id)
        .values(balance=PersonalAccount.balance + amount)
    )
