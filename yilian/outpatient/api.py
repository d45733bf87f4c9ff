"""HTTP API of outpatient care under /api/v1."""

from __future__ import annotations

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.bounds import IdPath
from yilian.outpatient import service
from yilian.outpatient.schemas import (
    CancelRequest,
    DiagnosisCreate,
    DiagnosisRead,
    EncounterCreate,
    EncounterRead,
    OrderCreate,
    OrderRead,
)

router = AreaRouter(prefix="/api/v1", tags=["门诊"])


@router.post("/encounters", response_model=EncounterRead, status_code=201, summary="接诊（开始就诊）")
def open_encounter(body: EncounterCreate, session: SessionDep, actor: CurrentActor) -> EncounterRead:
    return service.encounter_read(session, service.open_encounter(session, actor, body))


@router.get("/encounters/{encounter_id}", response_model=EncounterRead, summary="就诊详情")
def encounter(encounter_id: IdPath, session: SessionDep, actor: CurrentActor) -> EncounterRead:
    return service.encounter_read(session, service.get_encounter(session, actor, encounter_id))


@router.post(
    "/encounters/{encounter_id}/diagnoses", response_model=DiagnosisRead, status_code=201, summary="诊断"
)
def add_diagnosis(
    encounter_id: IdPath, body: DiagnosisCreate, session: SessionDep, actor: CurrentActor
) -> DiagnosisRead:
    return DiagnosisRead.model_validate(
        service.add_diagnosis(session, actor, encounter_id, body.code, is_primary=body.is_primary)
    )


@router.post(
    "/encounters/{encounter_id}/orders", response_model=OrderRead, status_code=201, summary="开立医嘱"
)
def place_order(
    encounter_id: IdPath, body: OrderCreate, session: SessionDep, actor: CurrentActor
) -> OrderRead:
    return OrderRead.model_validate(
        service.place_order(session, actor, encounter_id, body.item_code, body.quantity)
    )


@router.post("/orders/{order_id}/perform", response_model=OrderRead, summary="执行 / 发药")
def perform(order_id: IdPath, session: SessionDep, actor: CurrentActor) -> OrderRead:
    return OrderRead.model_validate(service.perform(session, actor, order_id))


@router.post("/orders/{order_id}/cancel", response_model=OrderRead, summary="撤销医嘱")
def cancel(order_id: IdPath, body: CancelRequest, session: SessionDep, actor: CurrentActor) -> OrderRead:
    order, _refund_due = service.cancel(session, actor, order_id, body.reason)
    return OrderRead.model_validate(order)


from yilian.outpatient.record_api import fhir_router, record_router  # noqa: E402

routers = [router, record_router, fhir_router]
