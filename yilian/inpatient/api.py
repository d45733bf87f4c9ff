"""HTTP API of inpatient care: the bed pool and bed office, admission / transfer / discharge,
deposits, the inpatient bill, pre-admission and the discharge settlement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Query, Response
from fastapi.responses import JSONResponse

from yilian.billing.domain import Channel
from yilian.inpatient import fhir, service
from yilian.inpatient.domain import BedState
from yilian.inpatient.errors import InvalidInpatientInput
from yilian.inpatient.schemas import (
    AbstractChangeRead,
    AbstractRead,
    AbstractUpdate,
    AdmissionCreate,
    AdmissionRead,
    ArrearsPayBody,
    AssignBody,
    AuditFindingRead,
    BedEventRead,
    BedRead,
    BedRequestCreate,
    BedRequestRead,
    BedStateChange,
    BillRead,
    ChargeLineRead,
    CodeRead,
    DepositBody,
    DepositRead,
    DischargeBody,
    InpatientSettlementRead,
    OrderBody,
    OrderPlacedRead,
    PreAdmissionCreate,
    PreAdmissionOrderRead,
    PreAdmissionRead,
    RankingRead,
    RelationCreate,
    ReverseBody,
    SettleBody,
    SuggestionRead,
    TransferBody,
    WardCreate,
    WardRead,
)
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import IdPath, IdQuery, OptionalIdQuery
from yilian.kit.errors import YilianError
from yilian.registry import service as registry

router = AreaRouter(prefix="/api/v1/inpatient", tags=["住院（全院一张床）"])
fhir_router = AreaRouter(prefix="/fhir", tags=["FHIR R4"])
routers = [router, fhir_router]


def _channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise InvalidInpatientInput(f"未知的支付渠道：{value}") from None


def _deposit(body: DepositBody) -> service.DepositIn:
    return service.DepositIn(
        amount=body.amount,
        channel=_channel(body.channel),
        idempotency_key=body.idempotency_key,
        payer_ref=body.payer_ref,
    )


# ---------------------------------------------------------------- wards and beds


@router.post("/wards", response_model=WardRead, status_code=201, summary="新建病区（含病房与床位）")
def create_ward(body: WardCreate, session: SessionDep, actor: CurrentActor) -> WardRead:
    ward = service.create_ward(
        session,
        actor,
        institution_id=body.institution_id,
        department_id=body.department_id,
        code=body.code,
        name=body.name,
        floor=body.floor,
        building=body.building,
        campus_id=body.campus_id,
        rooms=[service.RoomSpec(r.code, r.beds, r.sex, r.kind, r.monitored) for r in body.rooms],
        emergency_reserved=body.emergency_reserved,
    )
    return WardRead.model_validate(ward)


@router.get("/wards", response_model=list[WardRead], summary="本机构病区")
def list_wards(
    session: SessionDep, actor: Annotated[Actor, require(Permission.INPATIENT_READ)], institution_id: IdQuery
) -> list[WardRead]:
    return [WardRead.model_validate(w) for w in service.wards(session, actor, institution_id)]


@router.get("/wards/{ward_id}/beds", response_model=list[BedRead], summary="病区床位")
def ward_beds(ward_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[BedRead]:
    return [BedRead.model_validate(b) for b in service.ward_beds(session, actor, ward_id)]


@router.get("/beds/{bed_id}", response_model=BedRead, summary="床位")
def get_bed(bed_id: IdPath, session: SessionDep, actor: CurrentActor) -> BedRead:
    return BedRead.model_validate(service.bed_for(session, actor, bed_id))


@router.get("/beds/{bed_id}/history", response_model=list[BedEventRead], summary="床位状态历史")
def bed_history(bed_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[BedEventRead]:
    return [BedEventRead.model_validate(e) for e in service.bed_history(session, actor, bed_id)]


@router.post("/beds/{bed_id}/state", response_model=BedRead, summary="停用、启用或清洁完成")
def change_bed_state(
    bed_id: IdPath, body: BedStateChange, session: SessionDep, actor: CurrentActor
) -> BedRead:
    return BedRead.model_validate(
        service.set_bed_state(session, actor, bed_id, BedState(body.state), body.reason)
    )


@router.put("/ward-relations", summary="维护科室与病区的关联（相关专科、邻近病区）")
def put_relation(body: RelationCreate, session: SessionDep, actor: CurrentActor) -> dict[str, int | str]:
    row = service.set_relation(
        session, actor, department_id=body.department_id, ward_id=body.ward_id, kind=body.kind, rank=body.rank
    )
    return {
        "id": row.id,
        "department_id": row.department_id,
        "ward_id": row.ward_id,
        "kind": row.kind,
        "rank": row.rank,
    }


# ---------------------------------------------------------------- the bed office


@router.post("/bed-requests", response_model=BedRequestRead, status_code=201, summary="住院床位申请（待床）")
def create_request(body: BedRequestCreate, session: SessionDep, actor: CurrentActor) -> BedRequestRead:
    row = service.request_bed(
        session,
        actor,
        patient_id=body.patient_id,
        department_id=body.department_id,
        severity=body.severity,
        isolation=body.isolation,
        source=body.source,
        expected_on=body.expected_on,
        preadmission_id=body.preadmission_id,
        note=body.note,
    )
    return BedRequestRead.model_validate(row)


@router.get("/bed-requests", response_model=list[BedRequestRead], summary="床位办待处理申请")
def list_requests(
    session: SessionDep, actor: Annotated[Actor, require(Permission.BED_ALLOCATE)], institution_id: IdQuery
) -> list[BedRequestRead]:
    return [BedRequestRead.model_validate(r) for r in service.queue(session, actor, institution_id)]


@router.get(
    "/bed-requests/{request_id}/suggestions", response_model=RankingRead, summary="床位调配建议（附理由）"
)
def suggestions(
    request_id: IdPath,
    session: SessionDep,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> RankingRead:
    ranking = service.suggest(session, actor, request_id, limit=max(1, min(limit, 50)))
    return RankingRead(
        suggestions=[
            SuggestionRead(**{**s.__dict__, "reasons": list(s.reasons)}) for s in ranking.suggestions
        ],
        held_back=ranking.held_back,
    )


@router.post("/bed-requests/{request_id}/assign", response_model=BedRequestRead, summary="分配（预约）床位")
def assign(request_id: IdPath, body: AssignBody, session: SessionDep, actor: CurrentActor) -> BedRequestRead:
    return BedRequestRead.model_validate(service.assign(session, actor, request_id, body.bed_id))


@router.post("/bed-requests/{request_id}/release", response_model=BedRequestRead, summary="取消床位预约")
def release(request_id: IdPath, session: SessionDep, actor: CurrentActor) -> BedRequestRead:
    return BedRequestRead.model_validate(service.release(session, actor, request_id))


# ---------------------------------------------------------------- admission, transfer, discharge


@router.post("/admissions", response_model=AdmissionRead, status_code=201, summary="办理入院")
def admit(body: AdmissionCreate, session: SessionDep, actor: CurrentActor) -> AdmissionRead:
    row = service.admit(
        session,
        actor,
        patient_id=body.patient_id,
        department_id=body.department_id,
        bed_id=body.bed_id,
        source=body.source,
        severity=body.severity,
        isolation=body.isolation,
        request_id=body.request_id,
        preadmission_id=body.preadmission_id,
        practitioner_id=body.practitioner_id,
        deposit=_deposit(body.deposit) if body.deposit else None,
        waive_deposit=body.waive_deposit,
    )
    return AdmissionRead.model_validate(row)


@router.get("/admissions", response_model=list[AdmissionRead], summary="在院患者")
def in_hospital(
    session: SessionDep,
    actor: Annotated[Actor, require(Permission.INPATIENT_READ)],
    institution_id: IdQuery,
    ward_id: OptionalIdQuery = None,
    scope: Annotated[
        Literal["mine", "department", "hospital"],
        Query(description="mine 我主管的 | department 本科室（含我主管的） | hospital 全院"),
    ] = "hospital",
) -> list[AdmissionRead]:
    rows = service.in_hospital(session, actor, institution_id, ward_id, scope=scope)
    return [AdmissionRead.model_validate(a) for a in rows]


@router.get("/admissions/{admission_id}", response_model=AdmissionRead, summary="住院记录")
def get_admission(admission_id: IdPath, session: SessionDep, actor: CurrentActor) -> AdmissionRead:
    return AdmissionRead.model_validate(service.read_admission(session, actor, admission_id))


@router.post(
    "/admissions/{admission_id}/deposits", response_model=DepositRead, status_code=201, summary="缴纳预交金"
)
def pay_deposit(
    admission_id: IdPath, body: DepositBody, session: SessionDep, actor: CurrentActor
) -> DepositRead:
    return DepositRead.model_validate(service.pay_deposit(session, actor, admission_id, _deposit(body)))


@router.post(
    "/admissions/{admission_id}/transfer", response_model=AdmissionRead, summary="转床、转病区、转科"
)
def transfer(
    admission_id: IdPath, body: TransferBody, session: SessionDep, actor: CurrentActor
) -> AdmissionRead:
    row = service.transfer(
        session,
        actor,
        admission_id,
        to_bed_id=body.to_bed_id,
        department_id=body.department_id,
        reason=body.reason,
    )
    return AdmissionRead.model_validate(row)


@router.post("/admissions/{admission_id}/discharge", response_model=AdmissionRead, summary="办理出院")
def discharge(
    admission_id: IdPath, body: DischargeBody, session: SessionDep, actor: CurrentActor
) -> AdmissionRead:
    row = service.discharge(
        session, actor, admission_id, disposition=body.disposition, discharged_on=body.discharged_on
    )
    return AdmissionRead.model_validate(row)


@router.post(
    "/admissions/{admission_id}/orders/precheck",
    response_model=list[AuditFindingRead],
    summary="住院医嘱医保事前审核（明确违规将拒绝开立，可疑为提醒）",
)
def precheck_order(
    admission_id: IdPath, body: OrderBody, session: SessionDep, actor: CurrentActor
) -> list[AuditFindingRead]:
    found = service.order_precheck(session, actor, admission_id, body.item_code, body.quantity)
    return [AuditFindingRead.model_validate(f) for f in found]


@router.post(
    "/admissions/{admission_id}/orders",
    response_model=OrderPlacedRead,
    status_code=201,
    summary="住院医嘱计费（先经医保事前审核）",
)
def place_order(
    admission_id: IdPath, body: OrderBody, session: SessionDep, actor: CurrentActor
) -> OrderPlacedRead:
    outcome = service.place_order(session, actor, admission_id, body.item_code, body.quantity)
    placed = ChargeLineRead.model_validate(outcome.line)
    return OrderPlacedRead(
        **placed.model_dump(), warnings=[AuditFindingRead.model_validate(f) for f in outcome.warnings]
    )


@router.get("/admissions/{admission_id}/bill", response_model=BillRead, summary="住院费用清单")
def get_bill(admission_id: IdPath, session: SessionDep, actor: CurrentActor) -> BillRead:
    b = service.bill(session, actor, admission_id)
    return BillRead(
        admission_id=b.admission_id,
        total=b.total,
        deposit=b.deposit,
        balance=b.balance,
        by_kind=b.by_kind,
        lines=[ChargeLineRead.model_validate(line) for line in b.lines],
    )


# ---------------------------------------------------------------- pre-admission


@router.post("/preadmissions", response_model=PreAdmissionRead, status_code=201, summary="登记预住院")
def register_preadmission(
    body: PreAdmissionCreate, session: SessionDep, actor: CurrentActor
) -> PreAdmissionRead:
    row = service.register_preadmission(
        session,
        actor,
        encounter_id=body.encounter_id,
        department_id=body.department_id,
        diagnosis=body.diagnosis,
    )
    return PreAdmissionRead.model_validate(row)


@router.post(
    "/preadmissions/{preadmission_id}/orders",
    response_model=PreAdmissionOrderRead,
    status_code=201,
    summary="预住院检查检验医嘱",
)
def preadmission_order(
    preadmission_id: IdPath, body: OrderBody, session: SessionDep, actor: CurrentActor
) -> PreAdmissionOrderRead:
    row = service.order_preadmission(session, actor, preadmission_id, body.item_code, body.quantity)
    return PreAdmissionOrderRead.model_validate(row)


@router.post(
    "/preadmissions/{preadmission_id}/approve-extension",
    response_model=PreAdmissionRead,
    summary="审批延长预住院时限",
)
def approve_extension(preadmission_id: IdPath, session: SessionDep, actor: CurrentActor) -> PreAdmissionRead:
    return PreAdmissionRead.model_validate(service.approve_extension(session, actor, preadmission_id))


# ---------------------------------------------------------------- discharge settlement


@router.post(
    "/admissions/{admission_id}/settlement", response_model=InpatientSettlementRead, summary="出院结算"
)
def settle(
    admission_id: IdPath, body: SettleBody, session: SessionDep, actor: CurrentActor
) -> InpatientSettlementRead:
    row = service.settle_discharge(
        session,
        actor,
        admission_id,
        channel=_channel(body.channel),
        idempotency_key=body.idempotency_key,
        use_personal_account=body.use_personal_account,
        mutual_aid_from=body.mutual_aid_from,
        cash_payer_id=body.cash_payer_id,
        payer_ref=body.payer_ref,
    )
    return InpatientSettlementRead.model_validate(row)


@router.post(
    "/admissions/{admission_id}/arrears/pay",
    response_model=InpatientSettlementRead,
    summary="住院欠费补缴（缴清后恢复先诊疗后付费与免押金住院资格）",
)
def pay_arrears(
    admission_id: IdPath, body: ArrearsPayBody, session: SessionDep, actor: CurrentActor
) -> InpatientSettlementRead:
    row = service.pay_arrears(
        session,
        actor,
        admission_id,
        channel=_channel(body.channel),
        idempotency_key=body.idempotency_key,
        payer_ref=body.payer_ref,
    )
    return InpatientSettlementRead.model_validate(row)


@router.post(
    "/admissions/{admission_id}/settlement/reverse",
    response_model=InpatientSettlementRead,
    summary="冲正出院结算",
)
def reverse(
    admission_id: IdPath, body: ReverseBody, session: SessionDep, actor: CurrentActor
) -> InpatientSettlementRead:
    return InpatientSettlementRead.model_validate(
        service.reverse_settlement(session, actor, admission_id, body.reason)
    )


# ---------------------------------------------------------------- discharge abstract


def _abstract_read(session: SessionDep, actor: Actor, admission_id: int) -> AbstractRead:
    row, record, problems = service.read_abstract(session, actor, admission_id)
    return AbstractRead(
        admission_id=admission_id,
        status=row.status,
        principal_diagnosis=row.principal_diagnosis,
        other_diagnoses=list(row.other_diagnoses or ()),
        procedures=list(row.procedures or ()),
        ventilation_hours=row.ventilation_hours,
        newborn_weight_g=row.newborn_weight_g,
        signed_by=row.signed_by,
        los_days=record.los_days,
        total_cost_fen=record.total_cost_fen,
        problems=problems,
    )


@router.get(
    "/admissions/{admission_id}/abstract", response_model=AbstractRead, summary="病案首页（含质控提示）"
)
def get_abstract(admission_id: IdPath, session: SessionDep, actor: CurrentActor) -> AbstractRead:
    return _abstract_read(session, actor, admission_id)


@router.patch("/admissions/{admission_id}/abstract", response_model=AbstractRead, summary="编码病案首页")
def patch_abstract(
    admission_id: IdPath, body: AbstractUpdate, session: SessionDep, actor: CurrentActor
) -> AbstractRead:
    service.update_abstract(
        session,
        actor,
        admission_id,
        principal_diagnosis=body.principal_diagnosis,
        other_diagnoses=body.other_diagnoses,
        procedures=[service.ProcedureIn(p.code, p.on) for p in body.procedures]
        if body.procedures is not None
        else None,
        ventilation_hours=body.ventilation_hours,
        newborn_weight_g=body.newborn_weight_g,
    )
    return _abstract_read(session, actor, admission_id)


@router.post("/admissions/{admission_id}/abstract/sign", response_model=AbstractRead, summary="签发病案首页")
def sign_abstract(admission_id: IdPath, session: SessionDep, actor: CurrentActor) -> AbstractRead:
    service.sign_abstract(session, actor, admission_id)
    return _abstract_read(session, actor, admission_id)


@router.get(
    "/admissions/{admission_id}/abstract/changes",
    response_model=list[AbstractChangeRead],
    summary="病案首页修改记录",
)
def abstract_changes(
    admission_id: IdPath, session: SessionDep, actor: CurrentActor
) -> list[AbstractChangeRead]:
    return [
        AbstractChangeRead.model_validate(c) for c in service.abstract_changes(session, actor, admission_id)
    ]


@router.get(
    "/diagnosis-codes",
    response_model=list[CodeRead],
    summary="ICD-10 医保版诊断编码检索（编码、名称、拼音首字母）",
)
def diagnosis_codes(
    session: SessionDep, _actor: Annotated[Actor, require(Permission.ABSTRACT_CODE)], q: str = ""
) -> list[CodeRead]:
    return [CodeRead(code=c, name=n) for c, n in service.search_diagnosis_codes(session, q)]


@router.get(
    "/procedure-codes",
    response_model=list[CodeRead],
    summary="ICD-9-CM-3 医保版手术操作编码检索（编码、名称、拼音首字母）",
)
def procedure_codes(
    session: SessionDep, _actor: Annotated[Actor, require(Permission.ABSTRACT_CODE)], q: str = ""
) -> list[CodeRead]:
    return [CodeRead(code=c, name=n) for c, n in service.search_procedure_codes(session, q)]


# ---------------------------------------------------------------- indicators


@router.get("/indicators", summary="床位使用指标（病床使用率、周转次数、平均住院日等）")
def indicators(
    session: SessionDep,
    actor: CurrentActor,
    institution_id: IdQuery,
    start: date,
    end: date,
    by: str = "hospital",
) -> list[dict[str, object]]:
    rows = service.bed_indicators(session, actor, institution_id, start, end, by)
    return [
        {
            "key": r.key,
            "label": r.label,
            **{k: v for k, v in r.values.__dict__.items() if k not in ("start", "end")},
            "occupancy": round(r.values.occupancy, 4),
            "turnover": round(r.values.turnover, 2),
            "average_length_of_stay": round(r.values.average_length_of_stay, 2),
        }
        for r in rows
    ]


@router.get("/indicators.xlsx", summary="床位使用指标导出 Excel")
def indicators_xlsx(
    session: SessionDep,
    actor: CurrentActor,
    institution_id: IdQuery,
    start: date,
    end: date,
    by: str = "hospital",
) -> Response:
    rows = service.bed_indicators(session, actor, institution_id, start, end, by)
    return Response(
        service.indicators_xlsx(rows, start, end),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="bed-indicators-{start}-{end}.xlsx"'},
    )


# ---------------------------------------------------------------- FHIR R4: Encounter (IMP), Location


def _fhir(body: dict[str, object], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type="application/fhir+json")


def _outcome(exc: YilianError) -> JSONResponse:
    issue = {400: "invalid", 403: "forbidden", 404: "not-found", 409: "conflict"}.get(
        exc.status, "processing"
    )
    return _fhir(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": issue, "diagnostics": exc.detail}],
        },
        exc.status,
    )


@fhir_router.get("/Encounter/ip-{admission_id}", summary="FHIR Encounter read（住院，class IMP）")
def fhir_encounter(admission_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        a = service.read_admission(session, actor, admission_id, reason="FHIR Encounter read")
        patient = registry.find_patient(session, a.patient_id)
        bed = service.get_bed(session, a.bed_id) if a.bed_id else None
        body = fhir.encounter_resource(
            a, mpi_id=patient.mpi_id, ward=service.get_ward(session, a.ward_id), bed=bed
        )
    except YilianError as exc:
        return _outcome(exc)
    return _fhir(body)


@fhir_router.get("/Location/ward-{ward_id}", summary="FHIR Location read（病区）")
def fhir_ward(ward_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        ward = service.get_ward(session, ward_id)
        service.wards(session, actor, ward.institution_id)
    except YilianError as exc:
        return _outcome(exc)
    return _fhir(fhir.ward_resource(ward))


@fhir_router.get("/Location/bed-{bed_id}", summary="FHIR Location read（床位）")
def fhir_bed(bed_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        bed = service.bed_for(session, actor, bed_id)
        body = fhir.bed_resource(bed, service.get_ward(session, bed.ward_id))
    except YilianError as exc:
        return _outcome(exc)
    return _fhir(body)
