"""HTTP API of alliance work under /api/v1/alliance: alliances, members and pairings, the referral
share of specialist clinics, and two-way referrals (双向转诊)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse, Response

from yilian.alliance import service, stats
from yilian.alliance.domain import State
from yilian.alliance.errors import InvalidNetwork
from yilian.alliance.models import Referral
from yilian.alliance.schemas import (
    BedBody,
    BookBody,
    IndicatorRowRead,
    IndicatorsRead,
    MemberAdd,
    MemberRead,
    NetworkCreate,
    NetworkRead,
    NetworkUpdate,
    NoteBody,
    PairingCreate,
    PairingRead,
    PairingUpdate,
    PostingCreate,
    PostingRead,
    ReadingQueue,
    ReadingRead,
    ReadingReport,
    ReferBackBody,
    ReferralCreate,
    ReferralDetail,
    ReferralRead,
    ReferralStepRead,
    RefuseBody,
    ReservePolicyRead,
    ReservePolicySet,
    ReserveRunRead,
    SittingCountRead,
    SittingRead,
    SittingRecord,
)
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import DayQuery, IdPath
from yilian.kit.errors import Forbidden, YilianError
from yilian.registry import fhir as registry_fhir

router = AreaRouter(prefix="/api/v1/alliance", tags=["医联体"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
fhir_router = AreaRouter(prefix="/fhir", tags=["FHIR R4"])


def _staff(actor: Actor) -> None:
    if not actor.is_staff or not actor.has(Permission.REGISTRY_READ):
        raise Forbidden("无权查看医联体")


def _read(r: Referral) -> ReferralRead:
    out = ReferralRead.model_validate(r)
    out.state_label = State(r.state).label
    return out


@router.get("/networks", response_model=list[NetworkRead], summary="医联体列表")
def networks(session: SessionDep, actor: CurrentActor) -> list[NetworkRead]:
    return [NetworkRead.model_validate(n) for n in service.list_networks(session, actor)]


@router.post("/networks", response_model=NetworkRead, status_code=201, summary="新建医联体")
def create_network(body: NetworkCreate, session: SessionDep, actor: CurrentActor) -> NetworkRead:
    return NetworkRead.model_validate(service.create_network(session, actor, body))


@router.put(
    "/networks/{network_id}", response_model=NetworkRead, summary="修改医联体（名称、类型、牵头医院）"
)
def update_network(
    network_id: IdPath, body: NetworkUpdate, session: SessionDep, actor: CurrentActor
) -> NetworkRead:
    return NetworkRead.model_validate(service.update_network(session, actor, network_id, body))


@router.get("/networks/{network_id}/members", response_model=list[MemberRead], summary="医联体成员")
def members(network_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[MemberRead]:
    _staff(actor)
    return [MemberRead.model_validate(m) for m in service.members(session, network_id)]


@router.post("/networks/{network_id}/members", response_model=MemberRead, status_code=201, summary="加入成员")
def add_member(network_id: IdPath, body: MemberAdd, session: SessionDep, actor: CurrentActor) -> MemberRead:
    return MemberRead.model_validate(service.add_member(session, actor, network_id, body))


@router.get("/networks/{network_id}/pairings", response_model=list[PairingRead], summary="结对帮扶")
def pairings(network_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[PairingRead]:
    _staff(actor)
    return [PairingRead.model_validate(p) for p in service.pairings(session, network_id)]


@router.post(
    "/networks/{network_id}/pairings", response_model=PairingRead, status_code=201, summary="新建结对帮扶"
)
def create_pairing(
    network_id: IdPath, body: PairingCreate, session: SessionDep, actor: CurrentActor
) -> PairingRead:
    return PairingRead.model_validate(service.create_pairing(session, actor, network_id, body))


@router.put("/pairings/{pairing_id}", response_model=PairingRead, summary="修改结对帮扶（期间、目标）")
def update_pairing(
    pairing_id: IdPath, body: PairingUpdate, session: SessionDep, actor: CurrentActor
) -> PairingRead:
    return PairingRead.model_validate(service.update_pairing(session, actor, pairing_id, body))


@router.get(
    "/departments/{department_id}/reserve-policy",
    response_model=ReservePolicyRead,
    summary="转诊预留号源比例",
)
def reserve_policy(department_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReservePolicyRead:
    _staff(actor)
    row = service.reserve_policy(session, department_id)
    return ReservePolicyRead(
        department_id=department_id, reserve_percent=row.reserve_percent, release_hours=row.release_hours
    )


@router.put(
    "/departments/{department_id}/reserve-policy",
    response_model=ReservePolicyRead,
    summary="设置转诊预留比例",
)
def set_reserve_policy(
    department_id: IdPath, body: ReservePolicySet, session: SessionDep, actor: CurrentActor
) -> ReservePolicyRead:
    row = service.set_reserve_policy(session, actor, department_id, body)
    return ReservePolicyRead(
        department_id=department_id, reserve_percent=row.reserve_percent, release_hours=row.release_hours
    )


@router.post("/reserve/run", response_model=ReserveRunRead, summary="预留转诊号源并释放到期预留")
def run_reserve(session: SessionDep, actor: CurrentActor, start: DayQuery, end: DayQuery) -> ReserveRunRead:
    if not actor.has(Permission.ALLIANCE_MANAGE) or actor.institution_id is not None:
        raise Forbidden("只有平台管理员可以运行号源预留")
    if (end - start).days > 31 or end < start:
        raise InvalidNetwork("一次最多预留 31 天的号源")
    run = service.reserve_places(session, start=start, end=end)
    released = service.release_due(session)
    return ReserveRunRead(
        reserved_slots=run.reserved_slots, reserved_places=run.reserved_places, released_places=released
    )


@router.post("/referrals", response_model=ReferralRead, status_code=201, summary="发起转诊（上转/下转）")
def create_referral(body: ReferralCreate, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.create_referral(session, actor, body))


@router.get("/referrals", response_model=list[ReferralRead], summary="本机构的转诊单")
def referrals(
    session: SessionDep,
    actor: CurrentActor,
    side: Annotated[str, Query(pattern="^(any|sent|received)$")] = "any",
    state: Annotated[State | None, Query()] = None,
) -> list[ReferralRead]:
    rows = service.list_referrals(session, actor, side=side, states=[state.value] if state else None)
    return [_read(r) for r in rows]


@router.get("/referrals/{referral_id}", response_model=ReferralDetail, summary="转诊单详情")
def referral(referral_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReferralDetail:
    r = service.get_referral(session, actor, referral_id)
    out = ReferralDetail(**_read(r).model_dump())
    out.steps = [ReferralStepRead.model_validate(s) for s in service.steps(session, r.id)]
    return out


@router.get(
    "/referrals/{referral_id}/letter.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="打印转诊单（A4 PDF，附检查检验结果）",
)
def referral_letter(referral_id: IdPath, session: SessionDep, actor: CurrentActor) -> Response:
    body = service.referral_letter(session, actor, referral_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="referral-{referral_id}.pdf"'},
    )


@fhir_router.get("/ServiceRequest/{referral_id}", summary="FHIR ServiceRequest read（转诊单）")
def fhir_service_request(referral_id: IdPath, session: SessionDep, actor: CurrentActor) -> JSONResponse:
    try:
        body = service.referral_service_request(session, actor, referral_id)
    except YilianError as exc:
        return JSONResponse(
            registry_fhir.outcome(exc), status_code=exc.status, media_type=registry_fhir.FHIR_JSON
        )
    return JSONResponse(body, media_type=registry_fhir.FHIR_JSON)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralRead, summary="接收转诊")
def accept(referral_id: IdPath, body: NoteBody, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.accept(session, actor, referral_id, body.note))


@router.post("/referrals/{referral_id}/refuse", response_model=ReferralRead, summary="拒绝转诊（须说明原因）")
def refuse(referral_id: IdPath, body: RefuseBody, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.refuse(session, actor, referral_id, body.reason))


@router.get("/referrals/{referral_id}/slots", summary="可预约号源（含转诊预留余量）")
def slots(referral_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[dict[str, Any]]:
    out = []
    for sched, rows in service.bookable_slots(session, actor, referral_id):
        for slot, reserved_left in rows:
            out.append(
                {
                    "slot_id": slot.id,
                    "schedule_id": sched.id,
                    "day": sched.day.isoformat(),
                    "start": slot.start.strftime("%H:%M"),
                    "end": slot.end.strftime("%H:%M"),
                    "practitioner_id": sched.practitioner_id,
                    "free": slot.capacity - slot.booked,
                    "reserved_left": reserved_left,
                }
            )
    return out


@router.post(
    "/referrals/{referral_id}/book", response_model=ReferralRead, summary="预约号源（优先转诊预留号）"
)
def book(referral_id: IdPath, body: BookBody, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.book(session, actor, referral_id, body.slot_id))


@router.post(
    "/referrals/{referral_id}/bed-request",
    response_model=ReferralRead,
    summary="住院转诊申请床位（住院服务中心）",
)
def bed_request(referral_id: IdPath, body: BedBody, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.request_bed(session, actor, referral_id, body))


@router.post("/referrals/{referral_id}/arrive", response_model=ReferralRead, summary="患者已到诊")
def arrive(referral_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.mark_arrived(session, actor, referral_id))


@router.post(
    "/referrals/{referral_id}/refer-back",
    response_model=ReferralRead,
    status_code=201,
    summary="转回基层（附方案）",
)
def refer_back(
    referral_id: IdPath, body: ReferBackBody, session: SessionDep, actor: CurrentActor
) -> ReferralRead:
    return _read(service.refer_back(session, actor, referral_id, body))


@router.post("/referrals/{referral_id}/close", response_model=ReferralRead, summary="结束转诊")
def close(referral_id: IdPath, body: NoteBody, session: SessionDep, actor: CurrentActor) -> ReferralRead:
    return _read(service.close(session, actor, referral_id, body.note))


@router.get("/patients/{patient_id}/referrals", response_model=list[ReferralRead], summary="患者的转诊记录")
def patient_referrals(patient_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[ReferralRead]:
    return [_read(r) for r in service.patient_referrals(session, actor, patient_id)]


@router.post(
    "/networks/{network_id}/postings",
    response_model=PostingRead,
    status_code=201,
    summary="专家派驻（生成坐诊排班）",
)
def create_posting(
    network_id: IdPath, body: PostingCreate, session: SessionDep, actor: CurrentActor
) -> PostingRead:
    return PostingRead.model_validate(service.create_posting(session, actor, network_id, body))


@router.get("/networks/{network_id}/postings", response_model=list[PostingRead], summary="专家派驻列表")
def postings(network_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[PostingRead]:
    _staff(actor)
    return [PostingRead.model_validate(p) for p in service.postings(session, actor, network_id)]


@router.get("/postings/{posting_id}/sittings", response_model=list[SittingRead], summary="坐诊日")
def sittings(posting_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[SittingRead]:
    return [SittingRead.model_validate(s) for s in service.sittings_of(session, actor, posting_id)]


@router.put(
    "/sittings/{sitting_id}", response_model=SittingRead, summary="登记坐诊（到岗、接诊、带教、会诊）"
)
def record_sitting(
    sitting_id: IdPath, body: SittingRecord, session: SessionDep, actor: CurrentActor
) -> SittingRead:
    return SittingRead.model_validate(service.record_sitting(session, actor, sitting_id, body))


@router.get(
    "/networks/{network_id}/sitting-counts", response_model=list[SittingCountRead], summary="坐诊统计"
)
def sitting_counts(
    network_id: IdPath, session: SessionDep, actor: CurrentActor, start: DayQuery, end: DayQuery
) -> list[SittingCountRead]:
    if not (actor.has(Permission.ALLIANCE_STATS) or actor.has(Permission.ALLIANCE_MANAGE)):
        raise Forbidden("无权查看医联体统计")
    return [SittingCountRead(**vars(c)) for c in service.sitting_counts(session, network_id, start, end)]


def _row(r: stats.IndicatorRow) -> IndicatorRowRead:
    return IndicatorRowRead(
        **{k: getattr(r, k) for k in IndicatorRowRead.model_fields}  # the counts and the rates
    )


@router.get(
    "/networks/{network_id}/indicators",
    response_model=IndicatorsRead,
    summary="医联体运行指标（按月、按成员）",
)
def indicators(
    network_id: IdPath, session: SessionDep, actor: CurrentActor, start: DayQuery, end: DayQuery
) -> IndicatorsRead:
    ind = service.indicators(session, actor, network_id, start, end)
    return IndicatorsRead(
        network_id=ind.network.id,
        start=start,
        end=end,
        totals=[_row(r) for r in ind.totals],
        rows=[_row(r) for r in ind.rows],
    )


@router.get(
    "/networks/{network_id}/indicators.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="医联体运行指标导出 Excel",
)
def indicators_xlsx(
    network_id: IdPath, session: SessionDep, actor: CurrentActor, start: DayQuery, end: DayQuery
) -> Response:
    body = service.indicators_xlsx(session, actor, network_id, start, end)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="alliance-{network_id}-{start}-{end}.xlsx"'},
    )


@router.post("/readings", response_model=ReadingRead, status_code=201, summary="提交共享诊断中心阅片")
def queue_reading(body: ReadingQueue, session: SessionDep, actor: CurrentActor) -> ReadingRead:
    return ReadingRead.model_validate(service.queue_reading(session, actor, body.result_id))


@router.get("/readings", response_model=list[ReadingRead], summary="诊断中心阅片工作列表")
def readings(session: SessionDep, actor: CurrentActor) -> list[ReadingRead]:
    return [ReadingRead.model_validate(r) for r in service.worklist(session, actor)]


@router.post("/readings/{reading_id}/claim", response_model=ReadingRead, summary="认领阅片（一人一检查）")
def claim_reading(reading_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReadingRead:
    return ReadingRead.model_validate(service.claim_reading(session, actor, reading_id))


@router.post("/readings/{reading_id}/report", response_model=ReadingRead, summary="书写阅片报告")
def report_reading(
    reading_id: IdPath, body: ReadingReport, session: SessionDep, actor: CurrentActor
) -> ReadingRead:
    return ReadingRead.model_validate(
        service.report_reading(session, actor, reading_id, body.findings, body.conclusion)
    )


@router.post(
    "/readings/{reading_id}/verify", response_model=ReadingRead, summary="审核阅片报告（回传成员机构）"
)
def verify_reading(reading_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReadingRead:
    return ReadingRead.model_validate(service.verify_reading(session, actor, reading_id))


routers = [router, fhir_router]
