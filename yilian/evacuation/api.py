"""HTTP API of fire evacuation command under /api/v1/evacuation: buildings, events (alarms and
drills), the fire alarm system's hazard reports, and the plan."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from yilian.evacuation import service, tasks
from yilian.evacuation.schemas import (
    BuildingImport,
    BuildingRead,
    EventRead,
    EventStart,
    HazardReport,
    MobilitySet,
    ReplayDocument,
    ReplayRead,
    ReplayRequest,
)
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.bounds import IdPath, IdQuery

router = AreaRouter(prefix="/api/v1/evacuation", tags=["消防疏散"])


@router.post("/buildings", response_model=BuildingRead, status_code=201, summary="导入建筑模型")
def import_building(body: BuildingImport, session: SessionDep, actor: CurrentActor) -> BuildingRead:
    row = service.import_building(
        session, actor, body.institution_id, body.document, campus_id=body.campus_id
    )
    return BuildingRead.model_validate(row)


@router.get("/buildings", response_model=list[BuildingRead], summary="建筑列表")
def list_buildings(institution_id: IdQuery, session: SessionDep, actor: CurrentActor) -> list[BuildingRead]:
    return [BuildingRead.model_validate(b) for b in service.buildings(session, actor, institution_id)]


@router.get("/buildings/{building_id}/document", summary="建筑模型文档")
def building_document(building_id: IdPath, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    return dict(service.read_building(session, actor, building_id).document)


@router.post(
    "/buildings/{building_id}/events", response_model=EventRead, status_code=201, summary="启动火警事件或演练"
)
def start_event(building_id: IdPath, body: EventStart, session: SessionDep, actor: CurrentActor) -> EventRead:
    if body.origin:
        event = service.start_drill(session, actor, building_id, body.origin, hour=body.hour)
    else:
        event = service.start_event(session, actor, building_id, kind=body.kind, hour=body.hour)
    return EventRead.model_validate(event)


@router.post("/events/{event_id}/hazards", summary="火灾报警系统 / 指挥中心报告火情（返回新方案）")
def report_hazard(
    event_id: IdPath, body: HazardReport, session: SessionDep, actor: CurrentActor
) -> dict[str, Any]:
    service.report_hazard(
        session,
        actor,
        event_id,
        body.kind,
        body.target,
        at=body.at,
        source=body.source,
        detector=body.detector,
    )
    return service.current_plan(session, actor, event_id).summary()


@router.get("/events/{event_id}/plan", summary="当前疏散方案")
def plan(event_id: IdPath, session: SessionDep, actor: CurrentActor) -> dict[str, Any]:
    return service.current_plan(session, actor, event_id).summary()


@router.post("/events/{event_id}/close", response_model=EventRead, summary="结束事件")
def close(event_id: IdPath, session: SessionDep, actor: CurrentActor) -> EventRead:
    return EventRead.model_validate(service.close_event(session, actor, event_id))


@router.put("/admissions/{admission_id}/mobility", summary="护士记录患者活动能力")
def set_mobility(
    admission_id: IdPath, body: MobilitySet, session: SessionDep, actor: CurrentActor
) -> dict[str, Any]:
    return {
        "admission_id": admission_id,
        "mobility": service.set_mobility(session, actor, admission_id, body.mobility),
    }


@router.get(
    "/buildings/{building_id}/wards/{ward}/plan.pdf",
    summary="病区疏散预案（PDF，张贴用）",
    responses={200: {"content": {"application/pdf": {}}}},
)
def ward_plan(building_id: IdPath, ward: str, session: SessionDep, actor: CurrentActor) -> Response:
    pdf = service.ward_plan_pdf(session, actor, building_id, ward)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{ward}-plan.pdf"'},
    )


@router.post(
    "/events/{event_id}/replays",
    response_model=ReplayRead,
    status_code=202,
    summary="生成演练回放（JuPedSim 模拟方案与就近出口，后台进行）",
)
def request_replay(
    event_id: IdPath, body: ReplayRequest, session: SessionDep, actor: CurrentActor
) -> ReplayRead:
    replay = service.request_replay(session, actor, event_id, floor=body.floor)
    tasks.start(replay.id)  # waits for this request's commit, then simulates
    return ReplayRead.model_validate(replay)


@router.get("/events/{event_id}/replays", response_model=list[ReplayRead], summary="事件的演练回放")
def event_replays(event_id: IdPath, session: SessionDep, actor: CurrentActor) -> list[ReplayRead]:
    return [ReplayRead.model_validate(r) for r in service.event_replays(session, actor, event_id)]


@router.get("/replays/{replay_id}", response_model=ReplayDocument, summary="演练回放（轨迹与安全人数）")
def replay(replay_id: IdPath, session: SessionDep, actor: CurrentActor) -> ReplayDocument:
    row, _ = service.read_replay(session, actor, replay_id)
    return ReplayDocument.model_validate(row)
