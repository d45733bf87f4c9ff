"""HTTP API of the doctor's workstation: prescribing a drug (charged through billing) and the live
review warnings, under /api/v1."""

from __future__ import annotations

from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.bounds import IdPath
from yilian.outpatient.record_schemas import FindingRead, LineCreate
from yilian.workbench import service
from yilian.workbench.schemas import PrescribedRead

router = AreaRouter(prefix="/api/v1", tags=["医生工作站"])


@router.post(
    "/encounters/{encounter_id}/prescriptions/{kind}/lines",
    response_model=PrescribedRead,
    status_code=201,
    summary="开处方药品（数量按剂量×频次×天数计算）",
)
def prescribe(
    encounter_id: IdPath,
    kind: str,
    body: LineCreate,
    session: SessionDep,
    actor: CurrentActor,
    long_term: bool = False,
) -> PrescribedRead:
    return service.prescribe(session, actor, encounter_id, kind, body, long_term=long_term)


@router.delete("/prescription-lines/{line_id}", status_code=204, summary="删除处方药品")
def unprescribe(line_id: IdPath, session: SessionDep, actor: CurrentActor) -> None:
    service.unprescribe(session, actor, line_id)


@router.post(
    "/encounters/{encounter_id}/prescriptions/{kind}/check",
    response_model=list[FindingRead],
    summary="前置审方：开立前检查",
)
def check(
    encounter_id: IdPath, kind: str, body: LineCreate | None, session: SessionDep, actor: CurrentActor
) -> list[FindingRead]:
    return [
        FindingRead.model_validate(f.as_dict())
        for f in service.live_check(session, actor, encounter_id, kind, body)
    ]
