"""HTTP API of the pharmacy: the review queue (审方) and the window (发药) under /api/v1/pharmacy."""

from __future__ import annotations

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.auth.domain import Permission
from yilian.kit.bounds import IdPath
from yilian.kit.errors import Forbidden
from yilian.outpatient.record_schemas import PrescriptionRead, ReviewRequest, ReviewSubject
from yilian.outpatient.rx_service import prescription_read
from yilian.pharmacy import service
from yilian.pharmacy.schemas import (
    BatchRead,
    CallRequest,
    DispensationRead,
    DispenseRequest,
    LabelRead,
    ReturnRead,
    ReturnRequest,
    StockReceive,
    WindowRowRead,
)

router = AreaRouter(prefix="/api/v1/pharmacy", tags=["药房"])


@router.get("/reviews", response_model=list[ReviewSubject], summary="待审处方")
def queue(session: SessionDep, actor: CurrentActor) -> list[ReviewSubject]:
    return service.review_queue(session, actor)


@router.get("/reviews/{prescription_id}", response_model=ReviewSubject, summary="审方详情")
def subject(prescription_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReviewSubject:
    return service.review_subject(session, actor, prescription_id)


@router.post("/reviews/{prescription_id}", response_model=PrescriptionRead, summary="审方结论（通过 / 退回）")
def decide(
    prescription_id: IdPath, body: ReviewRequest, session: SessionDep, actor: CurrentActor
) -> PrescriptionRead:
    return prescription_read(
        session, service.decide(session, actor, prescription_id, body.verdict, body.reason)
    )


@router.get("/window", response_model=list[WindowRowRead], summary="发药窗口队列")
def window(session: SessionDep, actor: CurrentActor) -> list[WindowRowRead]:
    return [WindowRowRead(**r.__dict__) for r in service.window_queue(session, actor)]


@router.post("/window/{prescription_id}/call", response_model=DispensationRead, summary="叫号")
def call(
    prescription_id: IdPath, body: CallRequest, session: SessionDep, actor: CurrentActor
) -> DispensationRead:
    return DispensationRead.model_validate(service.call(session, actor, prescription_id, body.window))


@router.post("/window/{prescription_id}/dispense", response_model=DispensationRead, summary="核对发药")
def dispense(
    prescription_id: IdPath, body: DispenseRequest, session: SessionDep, actor: CurrentActor
) -> DispensationRead:
    return DispensationRead.model_validate(
        service.dispense(session, actor, prescription_id, checker=body.checker, window=body.window)
    )


@router.get("/window/{prescription_id}/labels", response_model=list[LabelRead], summary="用药标签")
def labels(prescription_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[LabelRead]:
    return [LabelRead(**x.__dict__) for x in service.labels(session, actor, prescription_id)]


@router.post("/returns/{order_id}", response_model=ReturnRead, status_code=201, summary="退药（未发药品）")
def return_drug(
    order_id: IdPath, body: ReturnRequest, session: SessionDep, actor: CurrentActor
) -> ReturnRead:
    return ReturnRead.model_validate(service.return_undispensed(session, actor, order_id, body.reason))


@router.get("/stock", response_model=list[BatchRead], summary="库存（批号、效期）")
def stock(session: SessionDep, actor: CurrentActor) -> list[BatchRead]:
    if not actor.has(Permission.PHARMACY_DISPENSE) or actor.institution_id is None:
        raise Forbidden("只有药师可以查看库存")
    pharmacy = service.pharmacy_for(session, actor.institution_id)
    return [BatchRead.model_validate(b) for b in service.stock_of(session, pharmacy.id)]


@router.post("/stock", response_model=BatchRead, status_code=201, summary="入库")
def receive(body: StockReceive, session: SessionDep, actor: CurrentActor) -> BatchRead:
    if not actor.has(Permission.PHARMACY_DISPENSE) or actor.institution_id is None:
        raise Forbidden("只有药师可以入库")
    pharmacy = service.pharmacy_for(session, actor.institution_id)
    return BatchRead.model_validate(
        service.receive(
            session,
            pharmacy.id,
            item_code=body.item_code,
            batch_no=body.batch_no,
            expiry=body.expiry,
            quantity=body.quantity,
        )
    )


from yilian.pharmacy.decoction_api import tcm_router  # noqa: E402  (the shared TCM pharmacy)

routers = [router, tcm_router]
