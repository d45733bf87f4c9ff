"""HTTP API of the DRG area under /api/v1/drg."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Form, Response, UploadFile

from yilian.drg import inpatient_cases, service
from yilian.drg.domain import DischargeRecord, GroupResult, RecordError, make_record
from yilian.drg.errors import InvalidRecord
from yilian.drg.schemas import (
    AnalysisOut,
    BatchOut,
    GroupOut,
    GroupRequest,
    GroupResponse,
    RecordIn,
    SchemeOut,
    UnitOut,
)
from yilian.kit.auth.deps import AreaRouter, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.bounds import IdPath
from yilian.kit.textfile import decode_text

_ = inpatient_cases  # groups the platform's signed discharge abstracts (inpatient.abstract_signed)

router = AreaRouter(prefix="/api/v1/drg", tags=["DRG"])

Grouping = Annotated[Actor, require(Permission.DRG_GROUP)]
Analyst = Annotated[Actor, require(Permission.DRG_ANALYZE)]
Manager = Annotated[Actor, require(Permission.DRG_MANAGE)]


def out(result: GroupResult) -> GroupOut:
    return GroupOut(
        status=result.status,
        drg=result.drg,
        drg_name=result.drg_name,
        mdc=result.mdc,
        adrg=result.adrg,
        severity=result.severity,
        trigger=result.trigger,
        excluded=list(result.excluded),
        reason=result.reason,
        scheme=result.scheme_version,
        explanation=list(result.steps),
        principal_procedure=result.principal_procedure,
        unknown_codes=list(result.unknown),
    )


def _record(body: RecordIn, index: int | None = None) -> DischargeRecord:
    try:
        return make_record(**body.model_dump())
    except RecordError as exc:
        where = f"第 {index + 1} 条记录 " if index is not None else ""
        raise InvalidRecord(f"{where}{exc.field_name}：{exc.message}") from exc


@router.get("/schemes", response_model=list[SchemeOut], summary="已导入的 DRG 分组方案")
def schemes(session: SessionDep, _actor: Grouping) -> list[SchemeOut]:
    return [SchemeOut.model_validate(s) for s in service.list_schemes(session)]


@router.post("/group", response_model=GroupResponse, summary="DRG 分组（单条或多条）")
def group(body: GroupRequest, session: SessionDep, _actor: Grouping) -> GroupResponse:
    """Group ``record`` or ``records``; a bad record rejects the whole request (nothing is stored)."""
    if (body.record is None) == (body.records is None):
        raise InvalidRecord("请提供 record 或 records 之一")
    items = [body.record] if body.record is not None else list(body.records or [])
    records = [_record(r, i if body.records is not None else None) for i, r in enumerate(items)]
    return GroupResponse(results=[out(r) for r in service.group_records(session, body.scheme, records)])


@router.post("/policy", summary="导入权重、费率与高低倍率阈值 (CSV)")
async def import_policy(
    file: UploadFile, session: SessionDep, _actor: Manager, scheme: str = "chs-1.1"
) -> dict[str, int]:
    text = decode_text(await file.read())
    return asdict(service.import_policy(session, scheme, text))


@router.post("/batches", response_model=BatchOut, status_code=201, summary="上传一批出院病案首页并分组")
async def upload(
    file: UploadFile,
    session: SessionDep,
    actor: Analyst,
    scheme: Annotated[str, Form()] = "chs-1.1",
    institution_level: Annotated[str, Form()] = "三级",
) -> BatchOut:
    rows = service.read_table(await file.read(), file.filename or "upload.csv")
    batch = service.upload_batch(
        session, actor, scheme, rows, name=file.filename or "出院病案", institution_level=institution_level
    )
    return BatchOut.model_validate(batch)


@router.get("/batches", response_model=list[BatchOut], summary="出院病案批次")
def batches(session: SessionDep, _actor: Analyst) -> list[BatchOut]:
    return [BatchOut.model_validate(b) for b in service.list_batches(session)]


def _unit(s: object) -> UnitOut:
    d = asdict(s)  # type: ignore[call-overload]
    return UnitOut(
        **{
            k: float(v) if k in ("total_weight", "cmi", "cost_index", "time_index") else v
            for k, v in d.items()
        }
    )


@router.get("/batches/{batch_id}/analysis", response_model=AnalysisOut, summary="科室与医生 DRG 运营分析")
def analysis(
    batch_id: IdPath, session: SessionDep, actor: Analyst, department: str | None = None
) -> AnalysisOut:
    a = service.analyse_batch(session, actor, batch_id, department)
    return AnalysisOut(
        batch=BatchOut.model_validate(a.batch),
        departments=[_unit(s) for s in a.departments],
        doctors=[_unit(s) for s in a.doctors],
        losing_drgs=[
            {"department": d, "drg": g, "cases": n, "profit_fen": p} for d, g, n, p in a.losing_drgs
        ],
    )


@router.get("/batches/{batch_id}/export.xlsx", summary="导出 Excel")
def export(batch_id: IdPath, session: SessionDep, actor: Analyst) -> Response:
    data = service.export_xlsx(session, actor, batch_id)
    return Response(
        content=data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="drg-batch-{batch_id}.xlsx"'},
    )
