"""Every query of outpatient care."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Subquery, case, func, select
from sqlalchemy.orm import Session

from yilian.kit.db import among, is_postgres
from yilian.outpatient.domain import EncounterStatus
from yilian.outpatient.models import Encounter, EncounterDiagnosis, Order


def get_encounter(session: Session, encounter_id: int, *, for_update: bool = False) -> Encounter | None:
    if not for_update:
        return session.get(Encounter, encounter_id)  # the identity map first: no round trip when loaded
    return session.scalar(select(Encounter).where(Encounter.id == encounter_id).with_for_update())


def encounter_by_registration(session: Session, registration_id: int) -> Encounter | None:
    return session.scalar(select(Encounter).where(Encounter.registration_id == registration_id))


def diagnoses_of(session: Session, encounter_id: int) -> Sequence[EncounterDiagnosis]:
    return session.scalars(
        select(EncounterDiagnosis)
        .where(EncounterDiagnosis.encounter_id == encounter_id)
        .order_by(EncounterDiagnosis.id)
    ).all()


def orders_of(session: Session, encounter_id: int) -> Sequence[Order]:
    return session.scalars(select(Order).where(Order.encounter_id == encounter_id).order_by(Order.id)).all()


def get_order(session: Session, order_id: int, *, for_update: bool = False) -> Order | None:
    query = select(Order).where(Order.id == order_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def encounter_ids_of_institution(session: Session, institution_id: int, day: date) -> list[int]:
    return list(
        session.scalars(
            select(Encounter.id).where(
                Encounter.institution_id == institution_id, Encounter.business_date == day
            )
        )
    )


def open_encounters_of(session: Session, patient_id: int, institution_id: int, day: date) -> list[Encounter]:
    return list(
        session.scalars(
            select(Encounter)
            .where(
                Encounter.patient_id == patient_id,
                Encounter.institution_id == institution_id,
                Encounter.business_date == day,
                Encounter.status == EncounterStatus.OPEN.value,
            )
            .order_by(Encounter.id)
        )
    )


def latest_open_encounter_by(
    session: Session,
    practitioner_id: int,
    institution_id: int,
    day: date,
    since: date | None = None,
    prefer: int | None = None,
) -> Encounter | None:
    """The practitioner's open encounter of [since, day]: ``prefer`` if it is one, else the latest."""
    order: list[ColumnElement[Any]] = [Encounter.opened_at.desc(), Encounter.id.desc()]
    if prefer is not None:
        order.insert(0, case((Encounter.id == prefer, 0), else_=1))
    return session.scalar(
        select(Encounter)
        .where(
            Encounter.practitioner_id == practitioner_id,
            Encounter.institution_id == institution_id,
            Encounter.business_date >= (since or day),
            Encounter.business_date <= day,
            Encounter.status == EncounterStatus.OPEN.value,
        )
        .order_by(*order)
        .limit(1)
    )


def visit_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """(business date, institution, department, encounters) of the days in [start, end] (analytics)."""
    q = (
        select(Encounter.business_date, Encounter.institution_id, Encounter.department_id, func.count())
        .where(Encounter.business_date >= start, Encounter.business_date <= end)
        .group_by(Encounter.business_date, Encounter.institution_id, Encounter.department_id)
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in session.execute(q)]


# ---------------------------------------------------------------- bulk reads for billing (ids in, rows out)


def lock_encounters(session: Session, ids: Sequence[int]) -> list[tuple[int, int, int, int, int | None]]:
    """(id, patient, institution, department, registration) of ``ids`` in id order, locked
    ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL: the ones another transaction holds are left out."""
    query = (
        select(
            Encounter.id,
            Encounter.patient_id,
            Encounter.institution_id,
            Encounter.department_id,
            Encounter.registration_id,
        )
        .where(among(session, Encounter.id, ids))
        .order_by(Encounter.id)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, key_share=True)  # FOR NO KEY UPDATE SKIP LOCKED
    return [(e, p, i, d, r) for e, p, i, d, r in session.execute(query)]


def primary_diagnosis_codes(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The first primary diagnosis code of each encounter of ``ids`` that has one."""
    codes: dict[int, str] = {}
    for eid, code in session.execute(
        select(EncounterDiagnosis.encounter_id, EncounterDiagnosis.code)
        .where(among(session, EncounterDiagnosis.encounter_id, ids), EncounterDiagnosis.is_primary.is_(True))
        .order_by(EncounterDiagnosis.id)
    ):
        codes.setdefault(eid, code)
    return codes


def live_order_lines(session: Session, ids: Sequence[int]) -> list[tuple[int, int, str, int, int]]:
    """(id, encounter, item code, quantity, unit price) of the orders of ``ids`` not cancelled, by id."""
    return [
        (oid, eid, code, qty, price)
        for oid, eid, code, qty, price in session.execute(
            select(Order.id, Order.encounter_id, Order.item_code, Order.quantity, Order.unit_price)
            .where(among(session, Order.encounter_id, ids), Order.status != "cancelled")
            .order_by(Order.id)
        )
    ]


def encounter_places() -> Subquery:
    """Every encounter's (id, institution_id, department_id), for another area's query to join in the
    same statement (billing's credit dashboard, the analytics of credit care)."""
    return select(Encounter.id, Encounter.institution_id, Encounter.department_id).subquery(
        "encounter_places"
    )
