"""HTTP API of the results area under /api/v1/results, and FHIR R4 results under /fhir."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import IdPath, OptionalDayQuery, OptionalIdQuery
from yilian.kit.errors import YilianError
from yilian.kit.paging import Page, PagingDep
from yilian.kit.responses import FastJSONResponse
from yilian.kit.textfile import decode_text
from yilian.registry import service as registry
from yilian.results import fhir, imaging, service
from yilian.results.domain import ItemKind, NonRecognitionReason
from yilian.results.errors import BadMessage
from yilian.results.schemas import (
    CandidateRead,
    CheckRead,
    CheckRequest,
    CodeMapRead,
    DecisionCreate,
    DecisionRead,
    HrMarkUpdate,
    ImportRead,
    IngestRead,
    ItemRead,
    ItemUpdate,
    QaUpdate,
    ResultRead,
    RevisionRead,
)

router = AreaRouter(prefix="/api/v1/results", tags=["检查检验结果互认"])
fhir_router = AreaRouter(prefix="/fhir", tags=["FHIR R4"])
routers = [router, fhir_router]

Reader = Annotated[Actor, require(Permission.RESULTS_READ)]
Ingester = Annotated[Actor, require(Permission.RESULTS_INGEST)]
Recognizer = Annotated[Actor, require(Permission.RESULTS_RECOGNIZE)]
Qualifier = Annotated[Actor, require(Permission.RESULTS_QUALIFY)]
Stats = Annotated[Actor, require(Permission.RESULTS_STATS)]


@router.get("/items", response_model=list[ItemRead], summary="互认项目目录")
def items(session: SessionDep, _actor: CurrentActor, kind: ItemKind | None = None) -> list[ItemRead]:
    return [ItemRead.model_validate(i) for i in service.list_items(session, kind=kind)]


@router.patch("/items/{code}", response_model=ItemRead, summary="修改项目有效期、价格或 HR 标识")
def update_item(code: str, body: ItemUpdate, session: SessionDep, actor: Qualifier) -> ItemRead:
    return ItemRead.model_validate(service.update_item(session, actor, code, **body.model_dump()))


@router.get("/reasons", summary="不互认标准理由")
def reasons(_actor: CurrentActor) -> list[dict[str, str]]:
    return [{"code": r.value, "label": r.label} for r in NonRecognitionReason]


@router.get("/code-maps", response_model=list[CodeMapRead], summary="本地代码对照")
def code_maps(
    session: SessionDep, _actor: Qualifier, institution_id: OptionalIdQuery = None
) -> list[CodeMapRead]:
    return [CodeMapRead.model_validate(m) for m in service.list_code_maps(session, institution_id)]


@router.post("/code-maps/import", response_model=ImportRead, summary="导入本地代码对照（CSV）")
async def import_code_maps(session: SessionDep, actor: Qualifier, file: UploadFile = File(...)) -> ImportRead:
    text = decode_text(await file.read())
    report = service.import_code_maps(session, actor, text)
    return ImportRead(rows=report.rows, created=report.created, updated=report.updated)


@router.get("/qualifications", summary="机构互认资质（HR 标识、室间质评、分级）")
def qualifications(session: SessionDep, _actor: Qualifier) -> list[dict[str, Any]]:
    return service.qualification_overview(session)


@router.put("/qualifications/{institution_id}/hr", summary="设置 HR 互认标识")
def set_hr(
    institution_id: IdPath, body: HrMarkUpdate, session: SessionDep, actor: Qualifier
) -> dict[str, Any]:
    row = service.set_hr_mark(session, actor, institution_id, body.hr_mark)
    return {"institution_id": row.institution_id, "hr_mark": row.hr_mark}


@router.put("/qualifications/{institution_id}/qa", summary="登记室间质评结果")
def set_qa(institution_id: IdPath, body: QaUpdate, session: SessionDep, actor: Qualifier) -> dict[str, Any]:
    row = service.set_qa(session, actor, institution_id=institution_id, **body.model_dump())
    return {
        "institution_id": row.institution_id,
        "discipline": row.discipline,
        "passed": row.passed,
        "passed_on": row.passed_on,
        "expires_on": row.expires_on,
    }


@router.get("/policy", summary="互认政策（分级矩阵、医联体规则）")
def policy(session: SessionDep, _actor: CurrentActor) -> dict[str, object]:
    return service.get_policy(session).to_dict()


@router.put("/policy", summary="修改互认政策")
def set_policy(
    body: Annotated[dict[str, Any], Body()], session: SessionDep, actor: Qualifier
) -> dict[str, object]:
    return service.set_policy(session, actor, body).to_dict()


@router.post("/hl7", response_model=IngestRead, summary="接收 HL7 v2.5 ORU^R01 报文")
async def ingest_hl7(request: Request, session: SessionDep, _actor: Ingester) -> IngestRead:
    text = (await request.body()).decode("utf-8", errors="replace")
    outcome = service.ingest_hl7(session, text)
    return IngestRead(
        message_id=outcome.message_id,
        duplicate=outcome.duplicate,
        result_ids=outcome.result_ids,
        updated_ids=outcome.updated_ids,
    )


@router.post("/imaging/dicom", response_model=IngestRead, summary="上传 DICOM 文件头与报告")
async def ingest_dicom(
    session: SessionDep,
    _actor: Ingester,
    file: UploadFile = File(...),
    report_text: str = Form(..., max_length=5000),
    sender_code: str = Form(..., max_length=32),
) -> IngestRead:
    study = imaging.read_dicom(file.file, report_text=report_text, sender_code=sender_code)
    outcome = service.ingest_imaging(session, study)
    return IngestRead(
        message_id=outcome.message_id, duplicate=outcome.duplicate, result_ids=outcome.result_ids
    )


@router.get("/patients/{patient_id}", response_model=Page[ResultRead], summary="患者全医联体检查检验结果")
def patient_results(
    patient_id: IdPath,
    session: SessionDep,
    actor: Reader,
    paging: PagingDep,
    item_code: Annotated[str | None, Query(max_length=32)] = None,
    kind: ItemKind | None = None,
) -> Page[ResultRead]:
    rows, total = service.patient_results(
        session, actor, patient_id, item_code=item_code, kind=kind, **paging.model_dump()
    )
    return Page(items=[ResultRead.model_validate(r) for r in rows], total=total, **paging.model_dump())


@router.get("/{result_id}", response_model=ResultRead, summary="结果详情")
def result(result_id: IdPath, session: SessionDep, actor: Reader) -> ResultRead:
    return ResultRead.model_validate(service.get_result(session, actor, result_id))


@router.get("/{result_id}/history", response_model=list[RevisionRead], summary="结果的历次报告（更正记录）")
def result_history(result_id: IdPath, session: SessionDep, actor: Reader) -> list[RevisionRead]:
    return [RevisionRead.model_validate(r) for r in service.result_history(session, actor, result_id)]


def _check_read(outcome: service.CheckOutcome) -> CheckRead:
    def view(c: service.CandidateView) -> CandidateRead:
        return CandidateRead(
            result=ResultRead.model_validate(c.result),
            institution_name=c.institution_name,
            qualifies=c.assessment.qualifies,
            why=list(c.assessment.why),
            why_not=list(c.assessment.why_not),
            valid_until=c.assessment.valid_until,
        )

    return CheckRead(
        prompt_id=outcome.prompt_id,
        item_code=outcome.item.code,
        item_name=outcome.item.name,
        price_fen=outcome.item.price_fen,
        business_date=outcome.business_date,
        candidates=[view(c) for c in outcome.candidates],
        rejected=[view(c) for c in outcome.rejected],
    )


@router.post("/recognition/check", response_model=CheckRead, summary="开单互认核查（重复开单提醒）")
def check(body: CheckRequest, session: SessionDep, actor: Recognizer) -> CheckRead:
    outcome = service.check_recognition(
        session,
        actor,
        patient_id=body.patient_id,
        institution_id=body.institution_id,
        department_id=body.department_id,
        practitioner_id=body.practitioner_id,
        item_code=body.item_code,
        on=body.business_date,
        commit=True,  # the request is the check alone: its statement commits itself (PostgreSQL)
    )
    return _check_read(outcome)


@router.post(
    "/recognition/decisions", response_model=DecisionRead, status_code=201, summary="互认 / 不互认决定"
)
def decide(body: DecisionCreate, session: SessionDep, actor: Recognizer) -> DecisionRead:
    row = service.decide(
        session,
        actor,
        prompt_id=body.prompt_id,
        decision=body.decision,
        result_id=body.result_id,
        reasons=body.reasons,
        note=body.note,
    )
    return DecisionRead.model_validate(row)


@router.get("/recognition/indicators", summary="互认指标：提醒数、互认率、节省费用")
def indicators(
    session: SessionDep,
    actor: Stats,
    group: Annotated[str, Query(pattern="^(institution|department|item)$")] = "institution",
    since: OptionalDayQuery = None,
    until: OptionalDayQuery = None,
) -> dict[str, Any]:
    return service.indicators(session, actor, group=group, since=since, until=until)


# ---------------------------------------------------------------- FHIR


def _fhir(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return FastJSONResponse(body, status_code=status, media_type=fhir.FHIR_JSON)


def _fhir_error(exc: YilianError) -> JSONResponse:
    return _fhir(fhir.outcome(exc.status, exc.code, exc.detail), exc.status)


def _observation(
    session: SessionDep, row: Any, names: dict[str, tuple[str, str]], mpi: str | None = None
) -> dict[str, Any]:
    """The FHIR Observation of ``row``; ``mpi`` (the patient's master-index number) when the caller
    knows it, e.g. a search of one patient's results."""
    name, loinc = names.get(row.item_code, (row.item_code, ""))
    mpi = mpi or registry.find_patient(session, row.patient_id).mpi_id
    return fhir.observation_resource(row, item_name=name, loinc=loinc, mpi_id=mpi)


@fhir_router.post("", summary="FHIR Bundle（DiagnosticReport + Observation）接收")
def fhir_bundle(
    body: Annotated[dict[str, Any], Body()], session: SessionDep, _actor: Ingester
) -> JSONResponse:
    try:
        outcome = service.ingest_fhir_bundle(session, body)
    except YilianError as exc:
        return _fhir_error(exc)
    return _fhir(
        {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [
                {
                    "response": {
                        "status": "200 OK" if outcome.duplicate else "201 Created",
                        "location": f"Observation/{rid}",
                    }
                }
                for rid in outcome.result_ids
            ],
        },
        200 if outcome.duplicate else 201,
    )


def _item_code(session: SessionDep, code: str) -> str:
    """The regional item of a FHIR token ``[system|]code`` (the regional code, or a LOINC code)."""
    system, _, value = code.rpartition("|")
    match = [
        i
        for i in service.list_items(session)
        if (i.loinc == value if system == fhir.LOINC else i.code == value)
    ]
    if not match:
        raise BadMessage(f"未知的项目代码: {code}")
    return match[0].code


@fhir_router.get("/Observation/{result_id}", summary="FHIR Observation read")
def fhir_observation(result_id: IdPath, session: SessionDep, actor: Reader) -> JSONResponse:
    try:
        row = service.get_result(session, actor, result_id)
    except YilianError as exc:
        return _fhir_error(exc)
    names = {i.code: (i.name, i.loinc) for i in service.list_items(session)}
    return _fhir(_observation(session, row, names))


@fhir_router.get("/Observation", summary="FHIR Observation search (patient, code)")
def fhir_observation_search(
    session: SessionDep,
    actor: Reader,
    patient: Annotated[str, Query(max_length=40, description="Patient/<主索引号> 或主索引号")],
    code: Annotated[str | None, Query(max_length=80)] = None,
    _count: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    try:
        p = registry.patient_by_mpi(session, patient.removeprefix("Patient/"))
        item_code = _item_code(session, code) if code else None
        rows, total = service.patient_observations(session, actor, p.id, item_code=item_code, limit=_count)
    except YilianError as exc:
        return _fhir_error(exc)
    observations = [
        fhir.observation_resource(
            r,
            item_name=r.item_code if r.item_name is None else r.item_name,
            loinc=r.loinc or "",
            mpi_id=p.mpi_id,
        )
        for r in rows
    ]
    return _fhir(fhir.searchset(observations, total))


@fhir_router.get("/ImagingStudy/{result_id}", summary="FHIR ImagingStudy read")
def fhir_imaging_study(result_id: IdPath, session: SessionDep, actor: Reader) -> JSONResponse:
    try:
        row = service.get_result(session, actor, result_id)
        if row.kind != ItemKind.IMAGING.value:
            raise BadMessage(f"结果 {result_id} 不是影像检查")
        item = service.get_item(session, row.item_code)
    except YilianError as exc:
        return _fhir_error(exc)
    mpi = registry.find_patient(session, row.patient_id).mpi_id
    return _fhir(fhir.imaging_study_resource(row, mpi_id=mpi, modality=item.modality))


def _report(session: SessionDep, row: Any, names: dict[str, tuple[str, str]]) -> dict[str, Any]:
    name, loinc = names.get(row.item_code, (row.item_code, ""))
    mpi = registry.find_patient(session, row.patient_id).mpi_id
    return fhir.diagnostic_report_resource(row, item_name=name, loinc=loinc, mpi_id=mpi)


@fhir_router.get("/DiagnosticReport/{result_id}", summary="FHIR DiagnosticReport read")
def fhir_diagnostic_report(result_id: IdPath, session: SessionDep, actor: Reader) -> JSONResponse:
    try:
        row = service.get_result(session, actor, result_id)
    except YilianError as exc:
        return _fhir_error(exc)
    names = {i.code: (i.name, i.loinc) for i in service.list_items(session)}
    return _fhir(_report(session, row, names))


@fhir_router.get("/DiagnosticReport", summary="FHIR DiagnosticReport search (patient, category, code)")
def fhir_diagnostic_report_search(
    session: SessionDep,
    actor: Reader,
    patient: Annotated[str, Query(max_length=40, description="Patient/<主索引号> 或主索引号")],
    category: Annotated[str | None, Query(max_length=80, description="LAB（检验）或 RAD（影像）")] = None,
    code: Annotated[str | None, Query(max_length=80)] = None,
    include: Annotated[
        str | None, Query(alias="_include", max_length=40, description="DiagnosticReport:result")
    ] = None,
    _count: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSONResponse:
    try:
        p = registry.patient_by_mpi(session, patient.removeprefix("Patient/"))
        kind = None
        if category:
            wanted = category.rpartition("|")[2].upper()
            if wanted not in ("LAB", "RAD"):
                raise BadMessage(f"不支持的报告类别: {category}（LAB 或 RAD）")
            kind = ItemKind.LAB if wanted == "LAB" else ItemKind.IMAGING
        if include not in (None, "DiagnosticReport:result"):
            raise BadMessage(f"不支持的 _include: {include}")
        item_code = _item_code(session, code) if code else None
        rows, total = service.patient_results(
            session, actor, p.id, item_code=item_code, kind=kind, limit=_count
        )
    except YilianError as exc:
        return _fhir_error(exc)
    names = {i.code: (i.name, i.loinc) for i in service.list_items(session)}
    reports = [_report(session, r, names) for r in rows]
    included = (
        [_observation(session, r, names) for r in rows if r.kind == ItemKind.LAB.value] if include else []
    )
    return _fhir(fhir.searchset(reports, total, included))
