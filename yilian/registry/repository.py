"""Every query of the registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Exists,
    Select,
    String,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from yilian.kit.db import among, paginate
from yilian.registry.models import (
    Alliance,
    Campus,
    Consent,
    Department,
    FamilyRelation,
    Institution,
    Patient,
    PatientAccessGrant,
    Practitioner,
    PractitionerDepartment,
)


def list_alliances(session: Session) -> Sequence[Alliance]:
    return session.scalars(select(Alliance).order_by(Alliance.id)).all()


def get_institution(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def list_institutions(
    session: Session,
    *,
    q: str = "",
    category: str | None = None,
    alliance_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Institution], int]:
    query = select(Institution)
    if q:
        like = f"%{q}%"
        query = query.where(or_(Institution.name.like(like), Institution.code.like(like)))
    if category:
        query = query.where(Institution.category == category)
    if alliance_id is not None:
        query = query.where(Institution.alliance_id == alliance_id)
    return paginate(session, query.order_by(Institution.level.desc(), Institution.id), offset, limit)


def campuses_of(session: Session, institution_id: int) -> Sequence[Campus]:
    return session.scalars(
        select(Campus).where(Campus.institution_id == institution_id).order_by(Campus.id)
    ).all()


def get_campus(session: Session, campus_id: int) -> Campus | None:
    return session.get(Campus, campus_id)


def campus_by_code(session: Session, institution_id: int, code: str) -> Campus | None:
    return session.scalar(select(Campus).where(Campus.institution_id == institution_id, Campus.code == code))


def get_department(session: Session, department_id: int) -> Department | None:
    return session.get(Department, department_id)


def department_by_code(session: Session, institution_id: int, code: str) -> Department | None:
    return session.scalar(
        select(Department).where(Department.institution_id == institution_id, Department.code == code)
    )


def list_departments(
    session: Session, *, institution_id: int | None = None, q: str = "", offset: int = 0, limit: int = 200
) -> tuple[list[Department], int]:
    query = select(Department)
    if institution_id is not None:
        query = query.where(Department.institution_id == institution_id)
    if q:
        query = query.where(Department.name.like(f"%{q}%"))
    return paginate(session, query.order_by(Department.institution_id, Department.code), offset, limit)


def get_practitioner(session: Session, practitioner_id: int) -> Practitioner | None:
    return session.get(Practitioner, practitioner_id)


def practitioner_by_code(session: Session, institution_id: int, code: str) -> Practitioner | None:
    return session.scalar(
        select(Practitioner).where(Practitioner.institution_id == institution_id, Practitioner.code == code)
    )


def list_practitioners(
    session: Session,
    *,
    institution_id: int | None = None,
    department_id: int | None = None,
    q: str = "",
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Practitioner], int]:
    query = select(Practitioner)
    if institution_id is not None:
        query = query.where(Practitioner.institution_id == institution_id)
    if department_id is not None:
        query = query.where(
            exists().where(
                PractitionerDepartment.practitioner_id == Practitioner.id,
                PractitionerDepartment.department_id == department_id,
            )
        )
    if q:
        query = query.where(or_(Practitioner.name.like(f"%{q}%"), Practitioner.name_initials.like(f"{q}%")))
    return paginate(session, query.order_by(Practitioner.institution_id, Practitioner.code), offset, limit)


def memberships_of(
    session: Session, practitioner_ids: Sequence[int]
) -> dict[int, list[PractitionerDepartment]]:
    rows = session.scalars(
        select(PractitionerDepartment).where(PractitionerDepartment.practitioner_id.in_(practitioner_ids))
    ).all()
    out: dict[int, list[PractitionerDepartment]] = {pid: [] for pid in practitioner_ids}
    for row in rows:
        out[row.practitioner_id].append(row)
    return out


def get_patient(session: Session, patient_id: int) -> Patient | None:
    return session.get(Patient, patient_id)


def patient_by_id_number(session: Session, id_number: str) -> Patient | None:
    return session.scalar(select(Patient).where(Patient.id_number == id_number))


# statements of the read paths, built once (building one costs more CPU than running it)
_PATIENT_BY_MPI = select(Patient).where(Patient.mpi_id == bindparam("mpi_id"))
_LIVE_GRANT = (
    select(PatientAccessGrant.id)
    .where(
        PatientAccessGrant.patient_id == bindparam("patient_id"),
        PatientAccessGrant.institution_id == bindparam("institution_id"),
        or_(PatientAccessGrant.expires_at.is_(None), PatientAccessGrant.expires_at > bindparam("at")),
    )
    .limit(1)
)


def patient_by_mpi(session: Session, mpi_id: str) -> Patient | None:
    return session.scalar(_PATIENT_BY_MPI, {"mpi_id": mpi_id})


def patients_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Patient]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}


def patient_exists_clause(patient_id: int | BindParameter[int]) -> Exists:
    """Whether the patient exists, as a clause another area's statement can carry (``patient_id``: a
    value, or the statement's bind parameter when the statement is built once)."""
    return select(Patient.id).where(Patient.id == patient_id).exists()


def live_grant_exists(session: Session, patient_id: int, institution_id: int, at: datetime) -> bool:
    params = {"patient_id": patient_id, "institution_id": institution_id, "at": at}
    return session.scalar(_LIVE_GRANT, params) is not None


def institution_scope_clause(institution_id: int, at: datetime) -> ColumnElement[bool]:
    """Patients homed at the institution or with a live access grant for it."""
    granted = exists().where(
        PatientAccessGrant.patient_id == Patient.id,
        PatientAccessGrant.institution_id == institution_id,
        or_(PatientAccessGrant.expires_at.is_(None), PatientAccessGrant.expires_at > at),
    )
    return or_(Patient.home_institution_id == institution_id, granted)


def consent_grantor_clause(grantee_id: int, scopes: Sequence[str], at: datetime) -> ColumnElement[bool]:
    """Patients who gave ``grantee_id`` a live consent of one of ``scopes``."""
    return exists().where(
        Consent.grantor_id == Patient.id,
        Consent.grantee_id == grantee_id,
        Consent.scope.in_(scopes),
        Consent.revoked_at.is_(None),
        or_(Consent.expires_at.is_(None), Consent.expires_at > at),
    )


def search_patients(
    session: Session,
    *,
    where: Sequence[ColumnElement[bool]],
    offset: int,
    limit: int,
) -> tuple[list[Patient], int]:
    query: Select[Any] = select(Patient)
    for clause in where:
        query = query.where(clause)
    return paginate(session, query.order_by(Patient.name_pinyin, Patient.id), offset, limit)


def relations_of(session: Session, patient_id: int) -> Sequence[FamilyRelation]:
    """Relations where the patient is either side."""
    return session.scalars(
        select(FamilyRelation)
        .where(or_(FamilyRelation.patient_id == patient_id, FamilyRelation.relative_id == patient_id))
        .order_by(FamilyRelation.id)
    ).all()


def relation_between(session: Session, a: int, b: int) -> FamilyRelation | None:
    return session.scalar(
        select(FamilyRelation).where(
            or_(
                (FamilyRelation.patient_id == a) & (FamilyRelation.relative_id == b),
                (FamilyRelation.patient_id == b) & (FamilyRelation.relative_id == a),
            )
        )
    )


def get_relation(session: Session, relation_id: int) -> FamilyRelation | None:
    return session.get(FamilyRelation, relation_id)


def get_consent(session: Session, consent_id: int) -> Consent | None:
    return session.get(Consent, consent_id)


def consents_of(session: Session, patient_id: int) -> Sequence[Consent]:
    return session.scalars(
        select(Consent)
        .where(or_(Consent.grantor_id == patient_id, Consent.grantee_id == patient_id))
        .order_by(Consent.id.desc())
    ).all()


def live_consent(
    session: Session, *, grantor_id: int, grantee_id: int, scopes: Sequence[str], at: datetime
) -> Consent | None:
    return session.scalar(
        select(Consent)
        .where(
            Consent.grantor_id == grantor_id,
            Consent.grantee_id == grantee_id,
            Consent.scope.in_(scopes),
            Consent.revoked_at.is_(None),
            or_(Consent.expires_at.is_(None), Consent.expires_at > at),
        )
        .limit(1)
    )


def patient_names(session: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    if not patient_ids:
        return {}
    rows = session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(patient_ids)))
    return {int(r[0]): str(r[1]) for r in rows}


def patient_sexes(session: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    if not patient_ids:
        return {}
    rows = session.execute(select(Patient.id, Patient.sex).where(Patient.id.in_(patient_ids)))
    return {int(r[0]): str(r[1]) for r in rows}


def patients_by_id_numbers(session: Session, id_numbers: Sequence[str]) -> dict[str, Patient]:
    if not id_numbers:
        return {}
    if session.get_bind().dialect.name == "postgresql":  # one array parameter: a short, cached statement
        where = Patient.id_number == func.any(bindparam(None, list(id_numbers), type_=ARRAY(String)))
    else:
        where = Patient.id_number.in_(id_numbers)
    return {p.id_number: p for p in session.scalars(select(Patient).where(where))}


def institutions_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Institution]:
    if not ids:
        return {}
    return {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(ids)))}


# ---------------------------------------------------------------- bulk reads (ids in, rows out)


def institution_settlement_facts(session: Session, ids: Sequence[int]) -> list[tuple[int, str, int, str]]:
    """(id, region code, level, code) of the institutions ``ids``."""
    query = select(Institution.id, Institution.region_code, Institution.level, Institution.code)
    return [
        (i, r, lv, c) for i, r, lv, c in session.execute(query.where(among(session, Institution.id, ids)))
    ]


def department_codes(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Department id → its code, for the departments ``ids``."""
    query = select(Department.id, Department.code).where(among(session, Department.id, ids))
    return {d: code for d, code in session.execute(query)}


def patient_settlement_facts(
    session: Session, ids: Sequence[int]
) -> list[tuple[int, str, str, str, str, date]]:
    """(id, insurance scheme, insured region, MPI id, sex, birth date) of the patients ``ids``."""
    query = select(
        Patient.id,
        Patient.insurance_scheme,
        Patient.insured_region,
        Patient.mpi_id,
        Patient.sex,
        Patient.birth_date,
    ).where(among(session, Patient.id, ids))
    return [
        (p, scheme, region, mpi, sex, birth) for p, scheme, region, mpi, sex, birth in session.execute(query)
    ]


def every_institution(session: Session) -> Sequence[Institution]:
    return session.scalars(select(Institution).order_by(Institution.id)).all()


def every_patient(session: Session) -> Sequence[Patient]:
    return session.scalars(select(Patient).order_by(Patient.id)).all()


def any_institution(session: Session) -> bool:
    return session.scalar(select(Institution.id).limit(1)) is not None


def institutions_from_level(session: Session, level: int) -> Sequence[Institution]:
    return session.scalars(
        select(Institution)
        .where(Institution.level >= level)
        .order_by(Institution.level.desc(), Institution.id)
    ).all()


def every_patient_id(session: Session) -> Sequence[int]:
    return session.scalars(select(Patient.id).order_by(Patient.id)).all()
