"""HTTP API of the smart insurance audit under /api/v1/audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from yilian.insurance.audit import nhsa, service
from yilian.insurance.audit.domain import FAMILY_LABELS, ClaimLine
from yilian.insurance.audit.schemas import (
    ActiveLibraryRead,
    ClaimLinesIn,
    EventRead,
    FindingDetail,
    FindingRead,
    LibraryRead,
    PrecheckRequest,
    PrecheckResponse,
    ReviewIn,
    RuleIssueRead,
    RulesText,
    RuleSummary,
    RunCreate,
    RunRead,
    ValidationRead,
)
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import IdPath
from yilian.kit.paging import Page, PagingDep

router = AreaRouter(prefix="/api/v1/audit", tags=["医保智能审核"])

Prechecker = Annotated[Actor, require(Permission.CLAIMS_PRECHECK)]
Auditor = Annotated[Actor, require(Permission.CLAIMS_AUDIT)]
RuleKeeper = Annotated[Actor, require(Permission.CLAIMS_RULES)]


@router.post("/precheck", response_model=PrecheckResponse, summary="事前事中审核（3101 风格）")
def precheck(body: PrecheckRequest, session: SessionDep, actor: Prechecker) -> PrecheckResponse:
    current, history, rx_of = nhsa.to_lines(body)
    stage = nhsa.stage_of(body.trig_scen)
    views = service.precheck_for(session, actor, current, history=history, stage=stage)
    return PrecheckResponse(
        task_id=body.task_id, stage=stage.value, result_dtos=nhsa.to_results(body, views, current, rx_of)
    )


@router.get("/rules", response_model=ActiveLibraryRead, summary="当前规则库")
def rules(session: SessionDep, _actor: Auditor) -> ActiveLibraryRead:
    lib = service.active_library(session)
    return ActiveLibraryRead(
        version=lib.version,
        name=lib.name,
        text=service.active_text(session),
        rules=[
            RuleSummary(
                id=r.id,
                family=r.family.value,
                family_label=FAMILY_LABELS[r.family],
                description=r.description,
                severity=r.severity.value,
                stages=sorted(s.value for s in r.stages),
                effective_from=r.effective_from,
                effective_to=r.effective_to,
                items=len(r.items()),
            )
            for r in lib.rules
        ],
    )


@router.get("/rules/versions", response_model=list[LibraryRead], summary="规则库版本")
def versions(session: SessionDep, _actor: Auditor) -> list[LibraryRead]:
    return [LibraryRead.model_validate(v) for v in service.list_libraries(session)]


@router.post("/rules/validate", response_model=ValidationRead, summary="校验规则库")
def validate(body: RulesText, _actor: RuleKeeper) -> ValidationRead:
    lib, issues = service.validate_text(body.text)
    return ValidationRead(
        valid=lib is not None,
        version=lib.version if lib else None,
        rules=len(lib.rules) if lib else 0,
        issues=[RuleIssueRead(line=i.line, message=i.message) for i in issues],
    )


@router.post("/rules", response_model=LibraryRead, status_code=201, summary="保存并启用新版本规则库")
def save_rules(body: RulesText, session: SessionDep, actor: RuleKeeper) -> LibraryRead:
    return LibraryRead.model_validate(service.save_library(session, actor, body.text))


@router.post("/claim-lines", status_code=201, summary="写入待审核结算明细")
def store_lines(body: ClaimLinesIn, session: SessionDep, _actor: Auditor) -> dict[str, int]:
    lines = [ClaimLine(**line.model_dump()) for line in body.lines]
    return {"stored": service.store_new_lines(session, lines, body.source)}


@router.post("/runs", response_model=RunRead, status_code=201, summary="发起事后审核")
def create_run(body: RunCreate, session: SessionDep, actor: Auditor) -> RunRead:
    return RunRead.model_validate(service.run_audit(session, actor, body.date_from, body.date_to))


@router.get("/runs", response_model=Page[RunRead], summary="审核批次")
def runs(session: SessionDep, _actor: Auditor, paging: PagingDep) -> Page[RunRead]:
    rows, total = service.list_runs(session, paging.offset, paging.limit)
    return Page(items=[RunRead.model_validate(r) for r in rows], total=total, **paging.model_dump())


@router.get("/runs/{run_id}", response_model=RunRead, summary="审核批次详情")
def run(run_id: IdPath, session: SessionDep, _actor: Auditor) -> RunRead:
    return RunRead.model_validate(service.get_run(session, run_id))


@router.get("/runs/{run_id}/findings", response_model=Page[FindingRead], summary="审核疑点")
def findings(
    run_id: IdPath,
    session: SessionDep,
    actor: CurrentActor,
    paging: PagingDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    family: Annotated[str | None, Query(max_length=16)] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    claim_id: Annotated[str | None, Query(max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=32, description="科室编码")] = None,
) -> Page[FindingRead]:
    service.get_run(session, run_id)
    rows, total = service.list_findings(
        session,
        actor,
        run_id,
        offset=paging.offset,
        limit=paging.limit,
        status=status,
        severity=severity,
        family=family,
        rule_id=rule_id,
        claim_id=claim_id,
        department=department,
    )
    return Page(items=[FindingRead.model_validate(r) for r in rows], total=total, **paging.model_dump())


@router.get("/runs/{run_id}/export.xlsx", summary="导出疑点清单（Excel）")
def export(run_id: IdPath, session: SessionDep, actor: Auditor) -> Response:
    data = service.export_xlsx(session, actor, run_id)
    return Response(
        content=data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="audit-run-{run_id}.xlsx"'},
    )


def _detail(session: SessionDep, finding_id: int, actor: Actor) -> FindingDetail:
    row = service.get_finding(session, actor, finding_id)
    trail = [EventRead.model_validate(e) for e in service.finding_trail(session, finding_id)]
    return FindingDetail(**FindingRead.model_validate(row).model_dump(), evidence=row.evidence, trail=trail)


@router.get("/findings/{finding_id}", response_model=FindingDetail, summary="疑点详情与审核轨迹")
def finding(finding_id: IdPath, session: SessionDep, actor: CurrentActor) -> FindingDetail:
    return _detail(session, finding_id, actor)


@router.post("/findings/{finding_id}/review", response_model=FindingDetail, summary="确认 / 剔除 / 申诉")
def review(finding_id: IdPath, body: ReviewIn, session: SessionDep, actor: CurrentActor) -> FindingDetail:
    service.review(session, actor, finding_id, body.action, body.reason)
    return _detail(session, finding_id, actor)
