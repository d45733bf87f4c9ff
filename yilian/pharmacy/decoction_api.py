"""HTTP API of the shared TCM pharmacy under /api/v1/tcm: herbs, herbal prescriptions (the doctor),
the review desk, the floor (steps, board, plan, label) and the patient's tracking by QR token."""

from __future__ import annotations

from fastapi.responses import Response
from sqlalchemy.orm import Session

from yilian.catalog import herb_service
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import DayQuery, IdPath
from yilian.kit.errors import Forbidden
from yilian.outpatient import herbal_service as herbal
from yilian.pharmacy import decoction_indicators as stats
from yilian.pharmacy import decoction_service as tcm
from yilian.pharmacy.decoction_schemas import (
    BagRead,
    BagStep,
    BoardCardRead,
    BoardRead,
    CancelRequest,
    FindingOut,
    HerbalCreate,
    HerbalLineRead,
    HerbalRead,
    HerbRead,
    LabelRead,
    MachineRead,
    PlanRead,
    PlanSlotRead,
    ReviewDecision,
    ScanRequest,
    StepRead,
    StepRequest,
    TrackRead,
    TrackStep,
)
from yilian.pharmacy.service import reviewed_institutions

tcm_router = AreaRouter(prefix="/api/v1/tcm", tags=["共享中药房"])


def herbal_read(
    session: Session, p: herbal.HerbalPrescription, refusals: list[str] | None = None
) -> HerbalRead:
    out = HerbalRead.model_validate(p)
    out.lines = [HerbalLineRead.model_validate(x) for x in herbal.lines_of(session, p.id)]
    out.credit_refusals = refusals or []
    return out


def _readable(session: Session, actor: Actor, prescription_id: int) -> herbal.HerbalPrescription:
    p = herbal.get(session, prescription_id)
    own = actor.institution_id == p.institution_id and actor.has(Permission.ENCOUNTER_WRITE)
    pharmacy = actor.institution_id is not None and p.institution_id in reviewed_institutions(
        session, actor.institution_id
    )
    if not (own or (pharmacy and actor.has(Permission.PRESCRIPTION_REVIEW))):
        raise Forbidden("无权查看该中药处方")
    return p


@tcm_router.get("/herbs", response_model=list[HerbRead], summary="饮片目录")
def herbs(session: SessionDep, actor: CurrentActor) -> list[HerbRead]:
    return [
        HerbRead.model_validate(h.__dict__ | {"pregnancy": h.pregnancy.value, "handling": h.handling.value})
        for h in herb_service.list_herbs(session)
    ]


@tcm_router.post("/check", response_model=list[FindingOut], summary="开方实时审方提示")
def check(body: HerbalCreate, session: SessionDep, actor: CurrentActor) -> list[FindingOut]:
    if not actor.has(Permission.ENCOUNTER_WRITE) and not actor.has(Permission.PRESCRIPTION_REVIEW):
        raise Forbidden("无权使用审方提示")
    return [FindingOut.model_validate(f) for f in tcm.findings_of(session, body.to_input())]


@tcm_router.post(
    "/encounters/{encounter_id}/herbal", response_model=HerbalRead, status_code=201, summary="开中药处方"
)
def prescribe(
    encounter_id: IdPath, body: HerbalCreate, session: SessionDep, actor: CurrentActor
) -> HerbalRead:
    p, refusals = tcm.prescribe(session, actor, encounter_id, body.to_input())
    return herbal_read(session, p, refusals)


@tcm_router.get("/herbal/{prescription_id}", response_model=HerbalRead, summary="中药处方详情")
def read(prescription_id: IdPath, session: SessionDep, actor: CurrentActor) -> HerbalRead:
    return herbal_read(session, _readable(session, actor, prescription_id))


@tcm_router.put("/herbal/{prescription_id}", response_model=HerbalRead, summary="修改退回的处方并重新提交")
def revise(
    prescription_id: IdPath, body: HerbalCreate, session: SessionDep, actor: CurrentActor
) -> HerbalRead:
    return herbal_read(session, tcm.revise(session, actor, prescription_id, body.to_input()))


@tcm_router.post("/herbal/{prescription_id}/cancel", response_model=HerbalRead, summary="取消处方（退费）")
def cancel(
    prescription_id: IdPath, body: CancelRequest, session: SessionDep, actor: CurrentActor
) -> HerbalRead:
    tcm.cancel(session, actor, prescription_id, body.reason)
    return herbal_read(session, herbal.get(session, prescription_id))


@tcm_router.get("/herbal/{prescription_id}/steps", response_model=list[StepRead], summary="流转记录")
def steps(prescription_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[StepRead]:
    _readable(session, actor, prescription_id)
    return [StepRead.model_validate(s) for s in tcm.steps_of(session, prescription_id)]


@tcm_router.get("/reviews", response_model=list[HerbalRead], summary="待审中药处方")
def desk(session: SessionDep, actor: CurrentActor) -> list[HerbalRead]:
    return [herbal_read(session, p) for p in tcm.review_desk(session, actor)]


@tcm_router.post("/reviews/{prescription_id}", response_model=HerbalRead, summary="审方结论")
def decide(
    prescription_id: IdPath, body: ReviewDecision, session: SessionDep, actor: CurrentActor
) -> HerbalRead:
    p = tcm.decide(session, actor, prescription_id, body.verdict, reason=body.reason, cosigner=body.cosigner)
    return herbal_read(session, p)


@tcm_router.post("/floor/{prescription_id}/steps", response_model=HerbalRead, summary="记录一步操作")
def step(prescription_id: IdPath, body: StepRequest, session: SessionDep, actor: CurrentActor) -> HerbalRead:
    p = tcm.step(session, actor, prescription_id, tcm.StepInput(**body.model_dump()))
    return herbal_read(session, p)


@tcm_router.get("/floor", response_model=BoardRead, summary="煎药看板")
def board(session: SessionDep, actor: CurrentActor) -> BoardRead:
    cards = [BoardCardRead(**c.__dict__) for c in tcm.board(session, actor)]
    machines = [MachineRead.model_validate(m) for m in tcm.machines(session, actor.institution_id or 0)]
    return BoardRead(cards=cards, machines=machines)


@tcm_router.get("/floor/plan", response_model=PlanRead, summary="当日煎药排程")
def plan(session: SessionDep, actor: CurrentActor) -> PlanRead:
    p = tcm.day_plan(session, actor)
    return PlanRead(
        slots=[PlanSlotRead(**s.__dict__) for s in p.slots], late=p.late, on_time_share=p.on_time_share
    )


@tcm_router.get("/floor/{prescription_id}/label", response_model=LabelRead, summary="药袋标签")
def label(prescription_id: IdPath, session: SessionDep, actor: CurrentActor) -> LabelRead:
    return LabelRead(**tcm.label(session, actor, prescription_id).__dict__)


@tcm_router.get("/track/{token}", response_model=TrackRead, summary="患者查询煎药进度（扫码）")
def track(token: str, session: SessionDep) -> TrackRead:
    t = tcm.track(session, token)
    data = t.__dict__ | {"steps": [TrackStep(state=s, at=at, note=n) for s, at, n in t.steps]}
    return TrackRead(**data)


def _bag(b: tcm.Bag) -> BagRead:
    data = b.__dict__ | {"steps": [BagStep(state=s, at=at, operator=o, note=n) for s, at, o, n in b.steps]}
    return BagRead(**data)


@tcm_router.post("/scan/lookup", response_model=BagRead, summary="扫码查看药袋（交接前）")
def scan_lookup(body: ScanRequest, session: SessionDep, actor: CurrentActor) -> BagRead:
    return _bag(tcm.scan_bag(session, actor, body.code))


@tcm_router.post("/scan", response_model=BagRead, summary="扫码交接：交配送员、接收入站、交患者签收")
def scan(body: ScanRequest, session: SessionDep, actor: CurrentActor) -> BagRead:
    tcm.scan(session, actor, body.code, body.action, courier=body.courier)
    return _bag(tcm.scan_bag(session, actor, body.code))


@tcm_router.post("/track/{token}/sign", response_model=TrackRead, summary="患者扫码确认签收（送货上门）")
def sign(token: str, session: SessionDep) -> TrackRead:
    tcm.sign_by_patient(session, token[:64])
    return track(token, session)


@tcm_router.get("/indicators", summary="共享中药房指标：处方量、退回、准时率、周转、返工、报废、煎药机利用率")
def indicators(start: DayQuery, end: DayQuery, session: SessionDep, actor: CurrentActor) -> dict[str, object]:
    ind = stats.indicators(session, actor, start, end)
    return {
        "start": ind.start.isoformat(),
        "end": ind.end.isoformat(),
        "rows": [dict(zip(stats.KEYS, stats.row_cells(r), strict=True)) for r in ind.rows],
        "daily": [{"day": d.isoformat(), "institution": c, "prescriptions": n} for d, c, n in ind.daily],
        "returns_by_rule": [{"rule": r, "returns": n} for r, n in ind.returns_by_rule],
        "machines": [
            {
                "code": m.code,
                "name": m.name,
                "busy_hours": m.busy_hours,
                "shift_hours": m.shift_hours,
                "utilisation": round(m.utilisation, 4),
            }
            for m in ind.machines
        ],
    }


@tcm_router.get("/indicators.xlsx", summary="共享中药房指标导出 Excel")
def indicators_xlsx(start: DayQuery, end: DayQuery, session: SessionDep, actor: CurrentActor) -> Response:
    ind = stats.indicators(session, actor, start, end)
    return Response(
        stats.to_xlsx(ind),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="tcm-indicators-{start}-{end}.xlsx"'},
    )
