"""Use cases of the registry. Services take a Session and an Actor, check access, flush, never commit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Exists, false, or_, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, Role, require_permission
from yilian.kit.clock import age_on, business_date, utcnow
from yilian.kit.errors import Conflict, Forbidden, InvalidInput, found
from yilian.kit.masking import mask_id_number, mask_phone
from yilian.kit.pinyin import name_pinyin
from yilian.registry import repository as repo
from yilian.registry.domain import (
    ConsentScope,
    InstitutionCategory,
    InsuranceScheme,
    RelationType,
    Sex,
    Title,
    VerificationState,
    check_id_against,
    check_level,
    check_region_code,
    check_relation,
    normalize_mobile,
    normalize_name,
    parse_id_number,
    rank_label,
)
from yilian.registry.errors import (
    AllianceNotFound,
    DuplicateCode,
    DuplicatePatient,
    DuplicateRelation,
    InstitutionNotFound,
    InvalidConsent,
    InvalidRegion,
    InvalidRelation,
    PatientNotFound,
    PatientOutOfScope,
    PractitionerNotFound,
    UnknownDepartment,
    UnknownInstitution,
)
from yilian.registry.models import (
    Alliance,
    Campus,
    Consent,
    FamilyRelation,
    Institution,
    PatientAccessGrant,
    Practitioner,
    PractitionerDepartment,
)
from yilian.registry.models import Department as Department  # re-exported for other areas' annotations
from yilian.registry.models import Patient as Patient  # re-exported for other areas' annotations
from yilian.registry.schemas import (
    CampusCreate,
    ConsentCreate,
    DepartmentCreate,
    InstitutionCreate,
    InstitutionRead,
    InstitutionUpdate,
    PatientCreate,
    PatientRead,
    PatientSummary,
    PatientUpdate,
    PractitionerCreate,
    PractitionerRead,
    RelationCreate,
    RelationRead,
)

# Scopes of consent that let a relative open the patient's master record.
RECORD_SCOPES = (ConsentScope.VIEW_RECORD.value, ConsentScope.COMPANION.value)


# ---------------------------------------------------------------- institutions


def institution_read(inst: Institution) -> InstitutionRead:
    """Return the API shape of an institution."""
    return InstitutionRead(
        id=inst.id,
        code=inst.code,
        name=inst.name,
        short_name=inst.short_name,
        category=InstitutionCategory(inst.category),
        category_label=InstitutionCategory(inst.category).label,
        level=inst.level,
        grade=inst.grade,
        rank_label=rank_label(inst.level, inst.grade, inst.category),
        alliance_id=inst.alliance_id,
        parent_id=inst.parent_id,
        region_code=inst.region_code,
        address=inst.address,
        phone=inst.phone,
        is_active=inst.is_active,
    )


def list_alliances(session: Session) -> Sequence[Alliance]:
    return repo.list_alliances(session)


def create_alliance(session: Session, *, code: str, name: str, region_code: str) -> Alliance:
    """Create a medical alliance."""
    alliance = Alliance(code=code, name=name, region_code=check_region_code(region_code))
    session.add(alliance)
    session.flush()
    return alliance


def _check_alliance(session: Session, alliance_id: int | None) -> None:
    if alliance_id is not None and alliance_id not in {a.id for a in repo.list_alliances(session)}:
        raise AllianceNotFound(f"医联体不存在: {alliance_id}")


def get_institution(session: Session, institution_id: int) -> Institution:
    return found(
        repo.get_institution(session, institution_id), InstitutionNotFound(f"机构不存在: {institution_id}")
    )


def list_institutions(session: Session, **filters: Any) -> tuple[list[Institution], int]:
    return repo.list_institutions(session, **filters)


def create_institution(session: Session, actor: Actor, data: InstitutionCreate) -> Institution:
    """Register an institution after checking its code, level and region."""
    require_permission(actor, Permission.REGISTRY_MANAGE)
    try:
        check_level(data.level, data.grade, data.category)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    if repo.institution_by_code(session, data.code) is not None:
        raise DuplicateCode(f"机构编码已存在: {data.code}")
    _check_alliance(session, data.alliance_id)
    if data.parent_id is not None:
        get_institution(session, data.parent_id)
    inst = Institution(
        **data.model_dump(exclude={"category", "grade", "region_code", "short_name"}),
        category=data.category.value,
        grade=data.grade.value,
        short_name=data.short_name or data.name,
        region_code=check_region_code(data.region_code),
        is_active=True,
        created_at=utcnow(),
    )
    session.add(inst)
    session.flush()
    events.emit(session, "registry.institution_created", {"institution_id": inst.id})
    return inst


def update_institution(
    session: Session, actor: Actor, institution_id: int, data: InstitutionUpdate
) -> Institution:
    """Change an institution's name, rank, alliance or contact data."""
    require_permission(actor, Permission.REGISTRY_MANAGE)
    inst = get_institution(session, institution_id)
    changes = data.model_dump(exclude_unset=True)
    _check_alliance(session, changes.get("alliance_id"))
    level = changes.get("level", inst.level)
    grade = changes.get("grade", inst.grade)
    try:
        check_level(level, grade, inst.category)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    for key, value in changes.items():
        setattr(inst, key, value.value if hasattr(value, "value") else value)
    session.flush()
    return inst


def campuses_of(session: Session, institution_id: int) -> Sequence[Campus]:
    return repo.campuses_of(session, institution_id)


def create_campus(session: Session, actor: Actor, data: CampusCreate) -> Campus:
    require_permission(actor, Permission.REGISTRY_MANAGE)
    get_institution(session, data.institution_id)
    if repo.campus_by_code(session, data.institution_id, data.code) is not None:
        raise DuplicateCode(f"院区编码已存在: {data.code}")
    campus = Campus(**data.model_dump())
    session.add(campus)
    session.flush()
    return campus


def list_departments(session: Session, **filters: Any) -> tuple[list[Department], int]:
    return repo.list_departments(session, **filters)


def get_department(session: Session, department_id: int) -> Department:
    return found(
        repo.get_department(session, department_id), UnknownDepartment(f"科室不存在: {department_id}")
    )


def create_department(session: Session, actor: Actor, data: DepartmentCreate) -> Department:
    require_permission(actor, Permission.REGISTRY_MANAGE)
    if repo.get_institution(session, data.institution_id) is None:
        raise UnknownInstitution(f"机构不存在: {data.institution_id}")
    if data.campus_id is not None:
        campus = repo.get_campus(session, data.campus_id)
        if campus is None or campus.institution_id != data.institution_id:
            raise UnknownInstitution("院区不存在或不属于该机构")
    if repo.department_by_code(session, data.institution_id, data.code) is not None:
        raise DuplicateCode(f"科室编码已存在: {data.code}")
    dept = Department(**data.model_dump(), is_active=True)
    session.add(dept)
    session.flush()
    return dept


# ---------------------------------------------------------------- practitioners


def practitioner_reads(session: Session, rows: Sequence[Practitioner]) -> list[PractitionerRead]:
    """Return API shapes of practitioners with their departments, in one query."""
    memberships = repo.memberships_of(session, [p.id for p in rows])
    out = []
    for p in rows:
        ms = memberships.get(p.id, [])
        primary = next((m.department_id for m in ms if m.is_primary), None)
        out.append(
            PractitionerRead(
                id=p.id,
                institution_id=p.institution_id,
                code=p.code,
                name=p.name,
                sex=Sex(p.sex),
                title=Title(p.title),
                license_no=p.license_no,
                specialty=p.specialty,
                phone_masked=mask_phone(p.phone),
                department_ids=[m.department_id for m in ms],
                primary_department_id=primary,
                is_active=p.is_active,
            )
        )
    return out


def list_practitioners(session: Session, **filters: Any) -> tuple[list[Practitioner], int]:
    return repo.list_practitioners(session, **filters)


def get_practitioner(session: Session, practitioner_id: int) -> Practitioner:
    return found(
        repo.get_practitioner(session, practitioner_id),
        PractitionerNotFound(f"医务人员不存在: {practitioner_id}"),
    )


def create_practitioner(session: Session, actor: Actor, data: PractitionerCreate) -> Practitioner:
    """Register a practitioner in one or more departments of one institution (the first is primary)."""
    require_permission(actor, Permission.REGISTRY_MANAGE)
    if repo.get_institution(session, data.institution_id) is None:
        raise UnknownInstitution(f"机构不存在: {data.institution_id}")
    for dept_id in data.department_ids:
        dept = repo.get_department(session, dept_id)
        if dept is None or dept.institution_id != data.institution_id:
            raise UnknownDepartment(f"科室 {dept_id} 不存在或不属于该机构")
    if repo.practitioner_by_code(session, data.institution_id, data.code) is not None:
        raise DuplicateCode(f"工号已存在: {data.code}")
    name = normalize_name(data.name)
    phone = normalize_mobile(data.phone) if data.phone else ""
    p = Practitioner(
        institution_id=data.institution_id,
        code=data.code,
        name=name,
        name_initials=name_pinyin(name)[1],
        sex=data.sex.value,
        title=data.title.value,
        license_no=data.license_no,
        specialty=data.specialty,
        phone=phone,
        is_active=True,
    )
    session.add(p)
    session.flush()
    for i, dept_id in enumerate(dict.fromkeys(data.department_ids)):
        session.add(PractitionerDepartment(practitioner_id=p.id, department_id=dept_id, is_primary=i == 0))
    session.flush()
    return p


# ---------------------------------------------------------------- patients


def patient_summary(p: Patient) -> PatientSummary:
    """Return a patient with identifiers masked, as lists show them."""
    sex = Sex(p.sex)
    scheme = InsuranceScheme(p.insurance_scheme)
    return PatientSummary(
        id=p.id,
        mpi_id=p.mpi_id,
        name=p.name,
        sex=sex,
        sex_label=sex.label,
        birth_date=p.birth_date,
        age=age_on(p.birth_date, business_date()),
        id_number_masked=mask_id_number(p.id_number),
        phone_masked=mask_phone(p.phone),
        insurance_scheme=scheme,
        insurance_label=scheme.label,
        home_institution_id=p.home_institution_id,
    )


def patient_read(p: Patient) -> PatientRead:
    """Return a patient's full record."""
    return PatientRead(
        **patient_summary(p).model_dump(),
        id_number=p.id_number,
        phone=p.phone,
        insured_region=p.insured_region,
        insurance_number=p.insurance_number,
        address=p.address,
        real_name_verified=p.real_name_verified,
        created_at=p.created_at,
        updated_at=p.updated_at,
        version=p.version,
    )


def can_read_patient(session: Session, actor: Actor, patient: Patient) -> bool:
    """Tell whether the actor may read this patient: own record, consent, alliance index or
    institution scope."""
    if not actor.has(Permission.PATIENT_READ):
        return False
    if actor.role is Role.PATIENT:
        return actor.patient_id == patient.id
    if actor.role is Role.FAMILY:
        if actor.patient_id is None:
            return False
        consent = repo.live_consent(
            session, grantor_id=patient.id, grantee_id=actor.patient_id, scopes=RECORD_SCOPES, at=utcnow()
        )
        return consent is not None
    if actor.has(Permission.PATIENT_ALLIANCE):
        return True
    if actor.institution_id is None:
        return False
    if patient.home_institution_id == actor.institution_id:
        return True
    return repo.live_grant_exists(session, patient.id, actor.institution_id, utcnow())


def _scope_clause(actor: Actor) -> ColumnElement[bool]:
    """Patients the actor may find: those they may read, or (search only, masked) those in their
    institution's scope."""
    if not (actor.has(Permission.PATIENT_READ) or actor.has(Permission.PATIENT_SEARCH)):
        return false()
    if actor.role is Role.PATIENT:
        return Patient.id == (actor.patient_id or -1)
    if actor.role is Role.FAMILY:
        return repo.consent_grantor_clause(actor.patient_id or -1, RECORD_SCOPES, utcnow())
    if actor.has(Permission.PATIENT_ALLIANCE):
        return true()
    if actor.institution_id is None:
        return false()
    return repo.institution_scope_clause(actor.institution_id, utcnow())


def _query_clause(q: str) -> tuple[ColumnElement[bool] | None, str]:
    """Return the search condition for ``q`` and a loggable form of it (identifiers masked)."""
    q = q.strip()
    if not q:
        return None, ""
    compact = re.sub(r"[\s-]", "", q)
    if re.fullmatch(r"\d{17}[\dXx]", compact):
        return Patient.id_number == compact.upper(), f"身份证号 {mask_id_number(compact)}"
    if re.fullmatch(r"1\d{10}", compact):
        return Patient.phone == compact, f"手机号 {mask_phone(compact)}"
    if re.fullmatch(r"YL\d+", compact, re.IGNORECASE):
        return Patient.mpi_id == compact.upper(), f"主索引号 {compact.upper()}"
    if re.fullmatch(r"\d{6,17}[Xx]?", compact):  # the first digits of an ID number (region, birth date …)
        prefix = compact.upper()
        return Patient.id_number.startswith(
            prefix, autoescape=True
        ), f"身份证号前缀 {prefix[:6]}…（{len(prefix)} 位）"
    if re.fullmatch(r"[A-Za-z]+", compact):
        letters = compact.lower()
        return or_(Patient.name_initials.startswith(letters), Patient.name_pinyin.startswith(letters)), (
            f"拼音 {letters}"
        )
    return Patient.name.contains(q, autoescape=True), f"姓名 {q}"


def search_patients(
    session: Session, actor: Actor, *, q: str = "", offset: int = 0, limit: int = 20
) -> tuple[list[Patient], int]:
    """Search patients the actor may see by name characters, pinyin initials, ID number, phone or MPI
    number; the search itself is access-audited."""
    require_permission(actor, Permission.PATIENT_SEARCH)
    clause, logged = _query_clause(q)
    where = [_scope_clause(actor)]
    if clause is not None:
        where.append(clause)
    rows, total = repo.search_patients(session, where=where, offset=offset, limit=limit)
    record_access(
        session, actor, action="search", resource=f"patients?{logged}"[:200], reason=f"{total} 条结果"
    )
    return rows, total


def get_patient(session: Session, actor: Actor, patient_id: int, *, reason: str = "查看档案") -> Patient:
    """Return a patient the actor may read and write the access-audit row."""
    # least privilege: finding a patient is not reading the record
    require_permission(actor, Permission.PATIENT_READ)
    patient = found(repo.get_patient(session, patient_id), PatientNotFound(f"患者不存在: {patient_id}"))
    if not can_read_patient(session, actor, patient):
        raise PatientOutOfScope("该患者不在您的机构范围内，且无授权")
    record_access(
        session, actor, action="read", resource=f"patients/{patient.id}", patient_id=patient.id, reason=reason
    )
    return patient


def my_patients(session: Session, actor: Actor) -> list[Patient]:
    """Return the patient records the actor follows as a patient or family member."""
    if actor.patient_id is None:
        return []
    if actor.role is Role.PATIENT:
        own = repo.get_patient(session, actor.patient_id)
        return [own] if own else []
    rows, _ = repo.search_patients(session, where=[_scope_clause(actor)], offset=0, limit=50)
    return rows


def patient_by_mpi(session: Session, mpi_id: str) -> Patient:
    """Return a patient by master-index number, without an access check (callers check)."""
    return found(repo.patient_by_mpi(session, mpi_id), PatientNotFound(f"患者不存在: {mpi_id}"))


def patient_by_id_number(session: Session, id_number: str) -> Patient | None:
    """Return the master-index patient with this resident ID number, if any (no access check: for
    interfaces that match incoming messages; the caller records its own access)."""
    return repo.patient_by_id_number(session, (id_number or "").strip().upper())


def institution_by_code(session: Session, code: str) -> Institution | None:
    """Return the institution with this code, if any."""
    return repo.institution_by_code(session, code)


def find_patient(session: Session, patient_id: int) -> Patient:
    """Return a patient without an access check, for other areas' services that check access themselves."""
    return found(repo.get_patient(session, patient_id), PatientNotFound(f"患者不存在: {patient_id}"))


def patient_exists_clause(patient_id: int | BindParameter[int]) -> Exists:
    """An EXISTS clause on the patient, for another area's repository to carry in one statement (so it
    need not read registry's tables itself)."""
    return repo.patient_exists_clause(patient_id)


def patient_names(session: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    """Names of patients by id, for other areas' screens that check access themselves (queues)."""
    return repo.patient_names(session, sorted(set(patient_ids)))


def patient_sexes(session: Session, patient_ids: Sequence[int]) -> dict[int, str]:
    """Sex (M / F) of patients by id, for other areas' bulk services that check access themselves."""
    return repo.patient_sexes(session, sorted(set(patient_ids)))


def create_patient(session: Session, actor: Actor, data: PatientCreate) -> Patient:
    """Create a patient in the master index: one person, one record (duplicate ID numbers refused)."""
    require_permission(actor, Permission.PATIENT_CREATE)
    today = business_date()
    resident = parse_id_number(data.id_number, today=today)
    check_id_against(resident, birth_date=data.birth_date, sex=data.sex)
    name = normalize_name(data.name)
    phone = normalize_mobile(data.phone)
    region = check_region_code(data.insured_region) if data.insured_region else ""
    if data.insurance_scheme is not InsuranceScheme.SELF_PAY and not region:
        raise InvalidRegion("参保患者必须填写参保地行政区划代码")
    home = data.home_institution_id or actor.institution_id
    if home is not None and repo.get_institution(session, home) is None:
        raise UnknownInstitution(f"建档机构不存在: {home}")
    existing = repo.patient_by_id_number(session, resident.number)
    if existing is not None:
        raise DuplicatePatient(
            f"身份证号码 {mask_id_number(resident.number)} 已建档"
            f"（主索引号 {existing.mpi_id}），请使用已有档案",
            existing_mpi_id=existing.mpi_id,
        )
    full, initials = name_pinyin(name)
    now = utcnow()
    patient = Patient(
        mpi_id="TMP" + uuid.uuid4().hex[:16],
        name=name,
        name_pinyin=full,
        name_initials=initials,
        id_number=resident.number,
        sex=resident.sex.value,
        birth_date=resident.birth_date,
        phone=phone,
        insurance_scheme=data.insurance_scheme.value,
        insured_region=region,
        insurance_number=data.insurance_number,
        home_institution_id=home,
        real_name_verified=data.real_name_verified,
        address=data.address,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(patient)
            session.flush()
    except IntegrityError as exc:
        raise DuplicatePatient(f"身份证号码 {mask_id_number(resident.number)} 已建档") from exc
    patient.mpi_id = f"YL{patient.id:010d}"
    session.flush()
    record_access(
        session,
        actor,
        action="create",
        resource=f"patients/{patient.id}",
        patient_id=patient.id,
        reason="建档",
    )
    events.emit(session, "registry.patient_created", {"patient_id": patient.id, "institution_id": home})
    return patient


def update_patient(session: Session, actor: Actor, patient_id: int, data: PatientUpdate) -> Patient:
    """Change a patient's contact and insurance data; the ID number and birth data never change here."""
    require_permission(actor, Permission.PATIENT_UPDATE)
    patient = get_patient(session, actor, patient_id, reason="修改档案")
    if data.version is not None and data.version != patient.version:
        raise Conflict("该档案已被他人修改，请刷新后重试", current_version=patient.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "name" in changes and changes["name"] is not None:
        patient.name = normalize_name(changes.pop("name"))
        patient.name_pinyin, patient.name_initials = name_pinyin(patient.name)
    if "phone" in changes and changes["phone"] is not None:
        patient.phone = normalize_mobile(changes.pop("phone"))
    if "insured_region" in changes and changes["insured_region"]:
        patient.insured_region = check_region_code(changes.pop("insured_region"))
    for key, value in changes.items():
        if value is not None:
            setattr(patient, key, value.value if isinstance(value, InsuranceScheme) else value)
    patient.updated_at = utcnow()
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"patients/{patient.id}",
        patient_id=patient.id,
        reason="修改档案",
    )
    events.emit(session, "registry.patient_updated", {"patient_id": patient.id})
    return patient


def grant_institution_access(
    session: Session, *, patient_id: int, institution_id: int, reason: str, days: int | None = None
) -> PatientAccessGrant:
    """Let an institution's staff read a patient (a visit, referral or recognised result); for other areas."""
    now = utcnow()
    grant = PatientAccessGrant(
        patient_id=patient_id,
        institution_id=institution_id,
        reason=reason[:100],
        granted_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(grant)
    session.flush()
    return grant


# ---------------------------------------------------------------- family relations and consents


def relation_reads(session: Session, patient_id: int) -> list[RelationRead]:
    """Return a patient's relations seen from the patient's side."""
    rows = repo.relations_of(session, patient_id)
    others = repo.patients_by_ids(
        session, [r.relative_id if r.patient_id == patient_id else r.patient_id for r in rows]
    )
    out = []
    for r in rows:
        forward = r.patient_id == patient_id
        other_id = r.relative_id if forward else r.patient_id
        rel = RelationType(r.relation_type) if forward else RelationType(r.relation_type).inverse
        state = VerificationState(r.verification_state)
        other = others.get(other_id)
        out.append(
            RelationRead(
                id=r.id,
                patient_id=patient_id,
                relative_id=other_id,
                relative_name=other.name if other else "",
                relation_type=rel,
                relation_label=rel.label,
                verification_state=state,
                verification_label=state.label,
                relative_confirmed=r.relative_confirmed,
                verified_at=r.verified_at,
                created_at=r.created_at,
            )
        )
    return out


def list_relations(session: Session, actor: Actor, patient_id: int) -> list[RelationRead]:
    get_patient(session, actor, patient_id, reason="查看家庭关系")
    return relation_reads(session, patient_id)


def _may_manage_family(session: Session, actor: Actor, patient_id: int) -> None:
    require_permission(actor, Permission.FAMILY_MANAGE)
    if actor.role is Role.PATIENT:
        if actor.patient_id != patient_id:
            raise Forbidden("只能管理本人的家庭关系与授权")
    else:  # staff: a patient in their scope
        get_patient(session, actor, patient_id, reason="管理家庭关系与授权")


def add_relation(session: Session, actor: Actor, patient_id: int, data: RelationCreate) -> FamilyRelation:
    """Declare that a relative (in the patient index) is the patient's spouse, parent, child, etc."""
    _may_manage_family(session, actor, patient_id)
    patient = find_patient(session, patient_id)
    if data.relative_id is not None:
        relative = repo.get_patient(session, data.relative_id)
    elif data.relative_id_number:
        relative = repo.patient_by_id_number(session, parse_id_number(data.relative_id_number).number)
    else:
        raise InvalidRelation("请填写亲属的患者 ID 或身份证号码")
    if relative is None:
        raise PatientNotFound("亲属尚未建档，请先为亲属建档")
    check_relation(
        data.relation_type,
        patient_birth=patient.birth_date,
        relative_birth=relative.birth_date,
        same_person=patient.id == relative.id,
    )
    if repo.relation_between(session, patient.id, relative.id) is not None:
        raise DuplicateRelation("两人之间已有家庭关系记录")
    relation = FamilyRelation(
        patient_id=patient.id,
        relative_id=relative.id,
        relation_type=data.relation_type.value,
        verification_state=VerificationState.PENDING.value,
        relative_confirmed=False,
        created_at=utcnow(),
    )
    session.add(relation)
    session.flush()
    record_access(
        session,
        actor,
        action="create",
        resource=f"relations/{relation.id}",
        patient_id=patient.id,
        reason="登记家庭关系",
    )
    events.emit(session, "registry.relation_added", {"relation_id": relation.id, "patient_id": patient.id})
    return relation


def find_relation(session: Session, relation_id: int) -> FamilyRelation:
    """Return a family relation by id, unchecked (for code that has checked access already)."""
    return found(repo.get_relation(session, relation_id), InvalidRelation(f"家庭关系不存在: {relation_id}"))


def confirm_relation(session: Session, actor: Actor, relation_id: int) -> FamilyRelation:
    """The relative confirms the relation (required for a spouse before it can be verified)."""
    relation = find_relation(session, relation_id)
    if actor.role in (Role.PATIENT, Role.FAMILY):
        if actor.patient_id != relation.relative_id:
            raise Forbidden("只有被登记的亲属本人可以确认")
    else:  # the desk records the relative's confirmation at the counter
        require_permission(actor, Permission.PATIENT_UPDATE)
        get_patient(session, actor, relation.relative_id, reason="确认家庭关系")
    relation.relative_confirmed = True
    session.flush()
    return relation


def verify_relation(
    session: Session, actor: Actor, relation_id: int, *, approve: bool = True
) -> FamilyRelation:
    """A registrar checks the documents (户口簿 / 结婚证) and verifies or rejects the relation."""
    require_permission(actor, Permission.PATIENT_UPDATE)
    relation = find_relation(session, relation_id)
    get_patient(session, actor, relation.patient_id, reason="核验家庭关系")  # in the registrar's scope
    if approve and relation.relation_type == RelationType.SPOUSE.value and not relation.relative_confirmed:
        raise InvalidRelation("配偶关系须经配偶本人确认后才能核验")
    relation.verification_state = (
        VerificationState.VERIFIED if approve else VerificationState.REJECTED
    ).value
    relation.verified_at = utcnow()
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"relations/{relation.id}",
        patient_id=relation.patient_id,
        reason="核验家庭关系",
    )
    return relation


def grant_consent(session: Session, actor: Actor, data: ConsentCreate) -> Consent:
    """Record a consent from one side of a verified relation to the other, with a scope and expiry."""
    relation = find_relation(session, data.relation_id)
    if data.grantor_id not in (relation.patient_id, relation.relative_id):
        raise InvalidConsent("授权人必须是该家庭关系中的一方")
    _may_manage_family(session, actor, data.grantor_id)
    if relation.verification_state != VerificationState.VERIFIED.value:
        raise InvalidConsent("家庭关系尚未核验，不能授权")
    grantee = relation.relative_id if data.grantor_id == relation.patient_id else relation.patient_id
    if data.scope is ConsentScope.MUTUAL_AID:
        if not RelationType(relation.relation_type).is_close_relative:
            raise InvalidConsent("共济付只能在近亲属之间授权")
        grantor = find_patient(session, data.grantor_id)
        if grantor.insurance_scheme != InsuranceScheme.EMPLOYEE.value:
            raise InvalidConsent("共济付的授权人须参加职工医保")
    now = utcnow()
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidConsent("授权截止时间必须晚于现在")
    consent = Consent(
        relation_id=relation.id,
        grantor_id=data.grantor_id,
        grantee_id=grantee,
        scope=data.scope.value,
        granted_at=now,
        expires_at=data.expires_at,
        note=data.note,
    )
    session.add(consent)
    session.flush()
    record_access(
        session,
        actor,
        action="create",
        resource=f"consents/{consent.id}",
        patient_id=data.grantor_id,
        reason=f"授权 {data.scope.label}",
    )
    events.emit(session, "registry.consent_granted", {"consent_id": consent.id, "scope": consent.scope})
    return consent


def revoke_consent(session: Session, actor: Actor, consent_id: int) -> Consent:
    """Revoke a consent; it stops counting at once."""
    consent = found(repo.get_consent(session, consent_id), InvalidConsent(f"授权不存在: {consent_id}"))
    _may_manage_family(session, actor, consent.grantor_id)
    if consent.revoked_at is None:
        consent.revoked_at = utcnow()
        session.flush()
        record_access(
            session,
            actor,
            action="update",
            resource=f"consents/{consent.id}",
            patient_id=consent.grantor_id,
            reason="撤销授权",
        )
        events.emit(session, "registry.consent_revoked", {"consent_id": consent.id, "scope": consent.scope})
    return consent


def list_consents(session: Session, actor: Actor, patient_id: int) -> Sequence[Consent]:
    get_patient(session, actor, patient_id, reason="查看授权")
    return repo.consents_of(session, patient_id)


def active_consent(
    session: Session, *, grantor_id: int, grantee_id: int, scope: ConsentScope, at: datetime | None = None
) -> Consent | None:
    """Return the live consent of ``scope`` from grantor to grantee, if any (for billing, companion)."""
    return repo.live_consent(
        session, grantor_id=grantor_id, grantee_id=grantee_id, scopes=[scope.value], at=at or utcnow()
    )


def patients_by_id_numbers(session: Session, id_numbers: Sequence[str]) -> dict[str, Patient]:
    """Return the master-index patients with these resident ID numbers (one query; no access check: for
    interfaces that match a batch of incoming messages)."""
    wanted = sorted({(n or "").strip().upper() for n in id_numbers if n})
    return repo.patients_by_id_numbers(session, wanted)


def institutions_by_ids(session: Session, institution_ids: Sequence[int]) -> dict[int, Institution]:
    """Return the institutions with these ids in one query (missing ids are absent)."""
    return repo.institutions_by_ids(session, sorted(set(institution_ids)))


# ---------------------------------------------------------------- bulk reads for batch jobs and seeding


def institution_settlement_facts(session: Session, ids: Sequence[int]) -> list[tuple[int, str, int, str]]:
    """(id, region code, level, code) of the institutions ``ids`` in one statement (reference data)."""
    return repo.institution_settlement_facts(session, ids)


def department_codes(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Department id → code for the departments ``ids`` in one statement (reference data)."""
    return repo.department_codes(session, ids)


def patient_settlement_facts(
    session: Session, ids: Sequence[int]
) -> list[tuple[int, str, str, str, str, date]]:
    """(id, insurance scheme, insured region, MPI id, sex, birth date) of the patients ``ids`` in one
    statement. Unchecked: for billing's end-of-day settlement, which runs as the system."""
    return repo.patient_settlement_facts(session, ids)


def every_institution(session: Session) -> list[Institution]:
    """All institutions in id order (reference data; for seeding and batch jobs)."""
    return list(repo.every_institution(session))


def every_patient(session: Session) -> list[Patient]:
    """All patients in id order. Unchecked: for seeding demo data only."""
    return list(repo.every_patient(session))


def has_institutions(session: Session) -> bool:
    """Tell whether the database already holds an institution."""
    return repo.any_institution(session)


def institutions_from_level(session: Session, level: int) -> list[InstitutionRead]:
    """The institutions of ``level`` and above (2: the hospitals), highest level first, then by id."""
    return [institution_read(i) for i in repo.institutions_from_level(session, level)]


def every_patient_id(session: Session) -> list[int]:
    """The ids of all patients in id order. Unchecked: for seeding demo data only."""
    return list(repo.every_patient_id(session))
