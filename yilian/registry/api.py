"""HTTP API of the registry under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import IdPath, OptionalIdQuery
from yilian.kit.errors import YilianError
from yilian.kit.paging import Page, PagingDep
from yilian.kit.responses import FastJSONResponse
from yilian.registry import fhir, service
from yilian.registry.domain import InstitutionCategory
from yilian.registry.schemas import (
    AllianceRead,
    CampusCreate,
    CampusRead,
    ConsentCreate,
    ConsentRead,
    DepartmentCreate,
    DepartmentRead,
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

router = AreaRouter(prefix="/api/v1", tags=["主数据"])
fhir_router = AreaRouter(prefix="/fhir", tags=["FHIR R4"])
routers = [router, fhir_router]

Reader = Annotated[Actor, require(Permission.REGISTRY_READ)]
Manager = Annotated[Actor, require(Permission.REGISTRY_MANAGE)]


@router.get("/alliances", response_model=list[AllianceRead], summary="医联体列表")
def alliances(session: SessionDep, _actor: Reader) -> list[AllianceRead]:
    return [AllianceRead.model_validate(a) for a in service.list_alliances(session)]


@router.get("/institutions", response_model=Page[InstitutionRead], summary="机构列表")
def institutions(
    session: SessionDep,
    _actor: Reader,
    paging: PagingDep,
    q: Annotated[str, Query(max_length=50, description="名称或编码")] = "",
    category: InstitutionCategory | None = None,
    alliance_id: OptionalIdQuery = None,
) -> Page[InstitutionRead]:
    rows, total = service.list_institutions(
        session, q=q, category=category, alliance_id=alliance_id, **paging.model_dump()
    )
    return Page(items=[service.institution_read(i) for i in rows], total=total, **paging.model_dump())


@router.post("/institutions", response_model=InstitutionRead, status_code=201, summary="新建机构")
def create_institution(body: InstitutionCreate, session: SessionDep, actor: Manager) -> InstitutionRead:
    return service.institution_read(service.create_institution(session, actor, body))


@router.get("/institutions/{institution_id}", response_model=InstitutionRead, summary="机构详情")
def institution(institution_id: IdPath, session: SessionDep, _actor: Reader) -> InstitutionRead:
    return service.institution_read(service.get_institution(session, institution_id))


@router.patch("/institutions/{institution_id}", response_model=InstitutionRead, summary="修改机构")
def update_institution(
    institution_id: IdPath, body: InstitutionUpdate, session: SessionDep, actor: Manager
) -> InstitutionRead:
    return service.institution_read(service.update_institution(session, actor, institution_id, body))


@router.get("/institutions/{institution_id}/campuses", response_model=list[CampusRead], summary="院区列表")
def campuses(institution_id: IdPath, session: SessionDep, _actor: Reader) -> list[CampusRead]:
    service.get_institution(session, institution_id)
    return [CampusRead.model_validate(c) for c in service.campuses_of(session, institution_id)]


@router.post("/campuses", response_model=CampusRead, status_code=201, summary="新建院区")
def create_campus(body: CampusCreate, session: SessionDep, actor: Manager) -> CampusRead:
    return CampusRead.model_validate(service.create_campus(session, actor, body))


@router.get("/departments", response_model=Page[DepartmentRead], summary="科室列表")
def departments(
    session: SessionDep,
    _actor: Reader,
    paging: PagingDep,
    institution_id: OptionalIdQuery = None,
    q: Annotated[str, Query(max_length=50)] = "",
) -> Page[DepartmentRead]:
    rows, total = service.list_departments(session, institution_id=institution_id, q=q, **paging.model_dump())
    return Page(items=[DepartmentRead.model_validate(d) for d in rows], total=total, **paging.model_dump())


@router.post("/departments", response_model=DepartmentRead, status_code=201, summary="新建科室")
def create_department(body: DepartmentCreate, session: SessionDep, actor: Manager) -> DepartmentRead:
    return DepartmentRead.model_validate(service.create_department(session, actor, body))


@router.get("/practitioners", response_model=Page[PractitionerRead], summary="医务人员列表")
def practitioners(
    session: SessionDep,
    _actor: Reader,
    paging: PagingDep,
    institution_id: OptionalIdQuery = None,
    department_id: OptionalIdQuery = None,
    q: Annotated[str, Query(max_length=50, description="姓名或拼音首字母")] = "",
) -> Page[PractitionerRead]:
    rows, total = service.list_practitioners(
        session, institution_id=institution_id, department_id=department_id, q=q, **paging.model_dump()
    )
    return Page(items=service.practitioner_reads(session, rows), total=total, **paging.model_dump())


@router.post("/practitioners", response_model=PractitionerRead, status_code=201, summary="新建医务人员")
def create_practitioner(body: PractitionerCreate, session: SessionDep, actor: Manager) -> PractitionerRead:
    p = service.create_practitioner(session, actor, body)
    return service.practitioner_reads(session, [p])[0]


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerRead, summary="医务人员详情")
def practitioner(practitioner_id: IdPath, session: SessionDep, _actor: Reader) -> PractitionerRead:
    return service.practitioner_reads(session, [service.get_practitioner(session, practitioner_id)])[0]


@router.get("/patients", response_model=Page[PatientSummary], summary="检索患者")
def patients(
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    q: Annotated[str, Query(max_length=40, description="姓名、拼音首字母、身份证号、手机号或主索引号")] = "",
) -> Page[PatientSummary]:
    """Search the patients you may see; identifiers are masked in the list."""
    rows, total = service.search_patients(session, actor, q=q, **paging.model_dump())
    return Page(items=[service.patient_summary(p) for p in rows], total=total, **paging.model_dump())


@router.post("/patients", response_model=PatientRead, status_code=201, summary="患者建档")
def create_patient(body: PatientCreate, session: SessionDep, actor: CurrentActor) -> PatientRead:
    """Create a patient in the master patient index; a known ID number is refused (409)."""
    return service.patient_read(service.create_patient(session, actor, body))


@router.get("/patients/{patient_id}", response_model=PatientRead, summary="患者档案")
def patient(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> PatientRead:
    """Read a patient's record; every read is access-audited."""
    return service.patient_read(service.get_patient(session, actor, patient_id))


@router.patch("/patients/{patient_id}", response_model=PatientRead, summary="修改患者档案")
def update_patient(
    patient_id: IdPath, body: PatientUpdate, session: SessionDep, actor: CurrentActor
) -> PatientRead:
    return service.patient_read(service.update_patient(session, actor, patient_id, body))


@router.get("/patients/{patient_id}/relations", response_model=list[RelationRead], summary="家庭关系")
def relations(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[RelationRead]:
    return service.list_relations(session, actor, patient_id)


@router.post(
    "/patients/{patient_id}/relations", response_model=RelationRead, status_code=201, summary="登记家庭关系"
)
def add_relation(
    patient_id: IdPath, body: RelationCreate, session: SessionDep, actor: CurrentActor
) -> RelationRead:
    relation = service.add_relation(session, actor, patient_id, body)
    return next(r for r in service.relation_reads(session, patient_id) if r.id == relation.id)


@router.post("/relations/{relation_id}/confirm", summary="亲属确认家庭关系")
def confirm_relation(relation_id: IdPath, session: SessionDep, actor: CurrentActor) -> dict[str, object]:
    relation = service.confirm_relation(session, actor, relation_id)
    return {"id": relation.id, "relative_confirmed": relation.relative_confirmed}


@router.post("/relations/{relation_id}/verify", summary="核验家庭关系")
def verify_relation(
    relation_id: IdPath, session: SessionDep, actor: CurrentActor, approve: bool = True
) -> dict[str, object]:
    relation = service.verify_relation(session, actor, relation_id, approve=approve)
    return {"id": relation.id, "verification_state": relation.verification_state}


@router.get("/patients/{patient_id}/consents", response_model=list[ConsentRead], summary="授权列表")
def consents(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[ConsentRead]:
    return [ConsentRead.model_validate(c) for c in service.list_consents(session, actor, patient_id)]


@router.post("/consents", response_model=ConsentRead, status_code=201, summary="授权亲属")
def grant_consent(body: ConsentCreate, session: SessionDep, actor: CurrentActor) -> ConsentRead:
    return ConsentRead.model_validate(service.grant_consent(session, actor, body))


@router.post("/consents/{consent_id}/revoke", response_model=ConsentRead, summary="撤销授权")
def revoke_consent(consent_id: IdPath, session: SessionDep, actor: CurrentActor) -> ConsentRead:
    return ConsentRead.model_validate(service.revoke_consent(session, actor, consent_id))


def _fhir(body: dict[str, object], status: int = 200) -> JSONResponse:
    return FastJSONResponse(body, status_code=status, media_type=fhir.FHIR_JSON)


def _fhir_error(exc: YilianError) -> JSONResponse:
    return _fhir(fhir.outcome(exc), exc.status)


@fhir_router.get("/Patient/{mpi_id}", summary="FHIR Patient read")
def fhir_patient(mpi_id: str, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    """Read a patient by master-index number (the FHIR logical id); access-audited."""
    try:
        found = service.patient_by_mpi(session, mpi_id)
        patient = service.get_patient(session, actor, found.id, reason="FHIR Patient read")
    except YilianError as exc:
        return _fhir_error(exc)
    return _fhir(fhir.patient_resource(patient))


@fhir_router.get("/Patient", summary="FHIR Patient search")
def fhir_patient_search(
    session: SessionDep,
    actor: CurrentActor,
    identifier: Annotated[str, Query(description="system|value or value (resident ID or MPI number)")] = "",
    name: Annotated[str, Query(max_length=40)] = "",
    _count: Annotated[int, Query(ge=1, le=100, alias="_count")] = 20,
) -> JSONResponse:
    """Search patients by identifier or name, within what the actor may see."""
    q = identifier.split("|")[-1] if identifier else name
    try:
        rows, total = service.search_patients(session, actor, q=q, limit=_count)
    except YilianError as exc:
        return _fhir_error(exc)
    return _fhir(fhir.bundle([fhir.patient_resource(p) for p in rows], total))


@fhir_router.get("/Organization/{institution_id}", summary="FHIR Organization read")
def fhir_organization(institution_id: IdPath, session: SessionDep, _actor: Reader) -> JSONResponse:
    try:
        inst = service.get_institution(session, institution_id)
    except YilianError as exc:
        return _fhir_error(exc)
    return _fhir(fhir.organization_resource(inst, service.institution_read(inst)))


@fhir_router.get("/Practitioner/{practitioner_id}", summary="FHIR Practitioner read")
def fhir_practitioner(practitioner_id: IdPath, session: SessionDep, _actor: Reader) -> JSONResponse:
    try:
        p = service.get_practitioner(session, practitioner_id)
    except YilianError as exc:
        return _fhir_error(exc)
    return _fhir(fhir.practitioner_resource(p))
