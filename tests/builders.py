"""Typed builders of test data: keyword-only arguments with realistic defaults, through the services."""

from __future__ import annotations

import itertools
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.auth.models import User
from yilian.registry import service as registry
from yilian.registry.domain import Grade, InstitutionCategory, InsuranceScheme, Sex, Title, make_id_number
from yilian.registry.models import Department, Institution, Patient, Practitioner
from yilian.registry.schemas import DepartmentCreate, InstitutionCreate, PatientCreate, PractitionerCreate

PASSWORD = "Test@2026"
SYSTEM = Actor.system("test")
_seq = itertools.count(1)


def make_institution(
    session: Session,
    *,
    name: str | None = None,
    code: str | None = None,
    category: InstitutionCategory = InstitutionCategory.GENERAL_HOSPITAL,
    level: int = 3,
    grade: Grade = Grade.A,
    alliance_id: int | None = None,
    region_code: str = "320602",
) -> Institution:
    n = next(_seq)
    if category is InstitutionCategory.VILLAGE_CLINIC:
        level, grade = 0, Grade.UNRATED
    return registry.create_institution(
        session,
        SYSTEM,
        InstitutionCreate(
            code=code or f"T{n:05d}",
            name=name or f"测试医院{n}",
            category=category,
            level=level,
            grade=grade,
            alliance_id=alliance_id,
            region_code=region_code,
        ),
    )


def make_department(
    session: Session, *, institution: Institution, name: str = "内分泌科", code: str | None = None
) -> Department:
    return registry.create_department(
        session,
        SYSTEM,
        DepartmentCreate(institution_id=institution.id, code=code or f"D{next(_seq):04d}", name=name),
    )


def make_practitioner(
    session: Session,
    *,
    institution: Institution,
    department: Department | None = None,
    name: str = "李医生",
    title: Title = Title.ATTENDING,
    sex: Sex = Sex.MALE,
) -> Practitioner:
    department = department or make_department(session, institution=institution)
    return registry.create_practitioner(
        session,
        SYSTEM,
        PractitionerCreate(
            institution_id=institution.id,
            code=f"P{next(_seq):05d}",
            name=name,
            sex=sex,
            title=title,
            department_ids=[department.id],
        ),
    )


def make_patient(
    session: Session,
    *,
    name: str = "张三",
    birth_date: date = date(1980, 5, 17),
    sex: Sex = Sex.MALE,
    institution: Institution | None = None,
    scheme: InsuranceScheme = InsuranceScheme.EMPLOYEE,
    phone: str = "13812345678",
    region_code: str = "320602",
) -> Patient:
    return registry.create_patient(
        session,
        SYSTEM,
        PatientCreate(
            name=name,
            id_number=make_id_number(region_code, birth_date, next(_seq), sex),
            phone=phone,
            insurance_scheme=scheme,
            insured_region="320600" if scheme is not InsuranceScheme.SELF_PAY else "",
            home_institution_id=institution.id if institution else None,
            real_name_verified=True,
        ),
    )


def make_user(
    session: Session,
    *,
    role: Role,
    institution: Institution | None = None,
    patient: Patient | None = None,
    practitioner: Practitioner | None = None,
    username: str | None = None,
    password: str = PASSWORD,
) -> User:
    return auth.create_user(
        session,
        username=username or f"{role.value.replace('_', '')}{next(_seq)}",
        password=password,
        role=role,
        display_name=f"测试{role.label}",
        institution_id=institution.id if institution else None,
        patient_id=patient.id if patient else None,
        practitioner_id=practitioner.id if practitioner else None,
    )


def actor_of(user: User) -> Actor:
    return auth.actor_for(user)


def bearer(client: TestClient, user: User, password: str = PASSWORD) -> dict[str, str]:
    """Log ``user`` in over HTTP and return the Authorization header."""
    response = client.post("/api/v1/auth/token", json={"username": user.username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
