"""Tables of the registry."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yilian.kit.db import Base


class Alliance(Base):
    """A medical alliance (医联体 / 医共体)."""

    __tablename__ = "alliances"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6))


class Institution(Base):
    """A hospital, community health centre or village clinic."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(32))
    level: Mapped[int]
    grade: Mapped[str] = mapped_column(String(4), default="")
    alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliances.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    alliance: Mapped[Alliance | None] = relationship(lazy="raise")
    campuses: Mapped[list[Campus]] = relationship(back_populates="institution", lazy="raise")


class Campus(Base):
    """A site (院区) of an institution."""

    __tablename__ = "campuses"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")

    institution: Mapped[Institution] = relationship(back_populates="campuses", lazy="raise")


class Department(Base):
    """A clinical or technical department (科室) of an institution, located on a campus."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(60))
    specialty: Mapped[str] = mapped_column(String(60), default="")
    is_clinical: Mapped[bool] = mapped_column(default=True)
    location: Mapped[str] = mapped_column(String(100), default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class Practitioner(Base):
    """A doctor, nurse, pharmacist or technician working at an institution."""

    __tablename__ = "practitioners"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    name_initials: Mapped[str] = mapped_column(String(40), default="")
    sex: Mapped[str] = mapped_column(String(1))
    title: Mapped[str] = mapped_column(String(16))
    license_no: Mapped[str] = mapped_column(String(32), default="")
    specialty: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(16), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    memberships: Mapped[list[PractitionerDepartment]] = relationship(lazy="raise")


class PractitionerDepartment(Base):
    """A practitioner's membership of a department; one is primary."""

    __tablename__ = "practitioner_departments"

    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True, index=True)
    is_primary: Mapped[bool] = mapped_column(default=True)


class Patient(Base):
    """One person in the alliance's master patient index (患者主索引): one record per ID number."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mpi_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    name_pinyin: Mapped[str] = mapped_column(String(120), index=True)
    name_initials: Mapped[str] = mapped_column(String(40), index=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(16), default="", index=True)
    insurance_scheme: Mapped[str] = mapped_column(String(16))
    insured_region: Mapped[str] = mapped_column(String(6), default="")
    insurance_number: Mapped[str] = mapped_column(String(32), default="")
    home_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    real_name_verified: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str] = mapped_column(String(200), default="")
    is_deceased: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PatientAccessGrant(Base):
    """Access to a patient for an institution beyond their home one (a visit, referral or recognised
    result adds one); institution-scoped staff may read patients with a live grant."""

    __tablename__ = "patient_access_grants"
    __table_args__ = (Index("ix_patient_access_grants_lookup", "patient_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    reason: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class FamilyRelation(Base):
    """A declared relation from a patient to a relative (both in the patient index)."""

    __tablename__ = "family_relations"
    __table_args__ = (UniqueConstraint("patient_id", "relative_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    relative_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    relation_type: Mapped[str] = mapped_column(String(16))
    verification_state: Mapped[str] = mapped_column(String(16), default="pending")
    relative_confirmed: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Consent(Base):
    """A patient's consent for a relative, with a scope and an expiry; revocable."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_grantee_scope", "grantee_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    relation_id: Mapped[int] = mapped_column(ForeignKey("family_relations.id"), index=True)
    grantor_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    grantee_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    scope: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(200), default="")
