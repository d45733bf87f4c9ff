"""API shapes of the registry."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yilian.kit.bounds import MAX_INT, Id
from yilian.registry.domain import (
    ConsentScope,
    Grade,
    InstitutionCategory,
    InsuranceScheme,
    RelationType,
    Sex,
    Title,
    VerificationState,
)


class AllianceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    region_code: str


class InstitutionCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=2, max_length=100)
    short_name: str = Field(default="", max_length=40)
    category: InstitutionCategory
    level: int = Field(ge=0, le=3)
    grade: Grade = Grade.UNRATED
    alliance_id: Id | None = None
    parent_id: Id | None = None
    region_code: str = Field(min_length=6, max_length=6)
    address: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)


class InstitutionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=100)
    short_name: str | None = Field(default=None, max_length=40)
    level: int | None = Field(default=None, ge=0, le=3)
    grade: Grade | None = None
    alliance_id: Id | None = None
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_null_but_alliance(self) -> InstitutionUpdate:
        """Leaving a field out keeps it; ``null`` is only for leaving the alliance (alliance_id)."""
        nulls = sorted(k for k in self.model_fields_set if k != "alliance_id" and getattr(self, k) is None)
        if nulls:
            raise ValueError(f"不能为空: {', '.join(nulls)}")
        return self


class InstitutionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    short_name: str
    category: InstitutionCategory
    category_label: str
    level: int
    grade: str
    rank_label: str
    alliance_id: Id | None
    parent_id: Id | None
    region_code: str
    address: str
    phone: str
    is_active: bool


class CampusRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: Id
    code: str
    name: str
    address: str


class CampusCreate(BaseModel):
    institution_id: Id
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=2, max_length=100)
    address: str = Field(default="", max_length=200)


class DepartmentCreate(BaseModel):
    institution_id: Id
    campus_id: Id | None = None
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=2, max_length=60)
    specialty: str = Field(default="", max_length=60)
    is_clinical: bool = True
    location: str = Field(default="", max_length=100)


class DepartmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: Id
    campus_id: Id | None
    code: str
    name: str
    specialty: str
    is_clinical: bool
    location: str
    is_active: bool


class PractitionerCreate(BaseModel):
    institution_id: Id
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=2, max_length=40)
    sex: Sex
    title: Title
    department_ids: list[Id] = Field(min_length=1)
    license_no: str = Field(default="", max_length=32)
    specialty: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=16)


class PractitionerRead(BaseModel):
    id: int
    institution_id: Id
    code: str
    name: str
    sex: Sex
    title: Title
    license_no: str
    specialty: str
    phone_masked: str
    department_ids: list[Id]
    primary_department_id: Id | None
    is_active: bool


class PatientCreate(BaseModel):
    name: str = Field(min_length=2, max_length=40, description="姓名")
    id_number: str = Field(min_length=15, max_length=20, description="居民身份证号码 (18 位)")
    sex: Sex | None = Field(default=None, description="性别，GB/T 2261.1 代码；留空则取自身份证号")
    birth_date: date | None = Field(default=None, description="出生日期；留空则取自身份证号")
    phone: str = Field(min_length=11, max_length=20, description="手机号码")
    insurance_scheme: InsuranceScheme = InsuranceScheme.SELF_PAY
    insured_region: str = Field(default="", max_length=6, description="参保地行政区划代码")
    insurance_number: str = Field(default="", max_length=32)
    home_institution_id: Id | None = Field(default=None, description="建档机构；留空为当前用户所在机构")
    address: str = Field(default="", max_length=200)
    real_name_verified: bool = False


class PatientUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=40)
    phone: str | None = Field(default=None, min_length=11, max_length=20)
    insurance_scheme: InsuranceScheme | None = None
    insured_region: str | None = Field(default=None, max_length=6)
    insurance_number: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=200)
    real_name_verified: bool | None = None
    version: int | None = Field(
        default=None, ge=0, le=MAX_INT, description="乐观锁版本号；填写后若记录已被他人修改则拒绝"
    )


class PatientSummary(BaseModel):
    """A patient in a list: identifiers masked."""

    id: int
    mpi_id: str
    name: str
    sex: Sex
    sex_label: str
    birth_date: date
    age: int
    id_number_masked: str
    phone_masked: str
    insurance_scheme: InsuranceScheme
    insurance_label: str
    home_institution_id: Id | None


class PatientRead(PatientSummary):
    """A patient's record, shown to an authorised and audited reader."""

    id_number: str
    phone: str
    insured_region: str
    insurance_number: str
    address: str
    real_name_verified: bool
    created_at: datetime
    updated_at: datetime
    version: int


class RelationCreate(BaseModel):
    relative_id: Id | None = Field(default=None, description="亲属的患者 ID")
    relative_id_number: str | None = Field(default=None, description="或亲属的身份证号码")
    relation_type: RelationType = Field(description="亲属是本人的什么人")


class RelationRead(BaseModel):
    id: int
    patient_id: Id
    relative_id: Id
    relative_name: str
    relation_type: RelationType
    relation_label: str
    verification_state: VerificationState
    verification_label: str
    relative_confirmed: bool
    verified_at: datetime | None
    created_at: datetime


class ConsentCreate(BaseModel):
    relation_id: Id
    grantor_id: Id = Field(description="授权人（关系中的一方）")
    scope: ConsentScope
    expires_at: datetime | None = None
    note: str = Field(default="", max_length=200)


class ConsentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    relation_id: Id
    grantor_id: Id
    grantee_id: Id
    scope: ConsentScope
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    note: str
