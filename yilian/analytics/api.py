"""HTTP API of analytics under /api/v1/analytics: the indicator registry, figures with 同比, the
drill-down by institution or department, the monthly report file and a refresh on demand. Aggregates
only; the commission and the administrator see the city, others at most their own institution."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from yilian.analytics import domain, report, service
from yilian.analytics.domain import INDICATORS, Month
from yilian.analytics.schemas import FigureRead, FiguresRead, IndicatorRead, RefreshRead, RowRead
from yilian.kit.auth.deps import AreaRouter, CurrentActor, SessionDep
from yilian.kit.auth.domain import Permission
from yilian.kit.bounds import OptionalIdQuery
from yilian.kit.errors import Forbidden

router = AreaRouter(prefix="/api/v1/analytics", tags=["统计分析"])

MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{1,2}$", max_length=7)]
MONTH_RE = r"^\d{4}-\d{1,2}$"


def _require_any(actor: CurrentActor) -> None:
    if not (actor.has(Permission.ANALYTICS_CITY) or actor.has(Permission.ANALYTICS_HOSPITAL)):
        raise Forbidden("无权查看统计指标")


@router.get("/indicators", response_model=list[IndicatorRead], summary="指标定义")
def indicators(actor: CurrentActor) -> list[IndicatorRead]:
    _require_any(actor)
    return [
        IndicatorRead(
            code=i.code,
            name=i.name,
            formula=i.formula,
            unit=i.unit.value,
            source=i.source,
            topic=i.topic,
            grains=list(i.grains),
            times=list(i.times),
            target=i.target,
            available=i.available,
        )
        for i in INDICATORS
    ]


@router.get("/figures", response_model=FiguresRead, summary="指标数值与同比")
def figures(
    session: SessionDep,
    actor: CurrentActor,
    first: MonthQuery = None,
    last: MonthQuery = None,
    institution_id: OptionalIdQuery = None,
) -> FiguresRead:
    a, b = service.parse_range(first, last)
    figs = service.figures(session, actor, a, b, institution_id=institution_id)
    return FiguresRead(
        first=str(a),
        last=str(b),
        institution_id=institution_id,
        figures=[
            FigureRead(
                code=f.indicator.code,
                name=f.indicator.name,
                value=f.value,
                text=f.text,
                before=f.before,
                change_percent=f.change,
            )
            for f in figs
        ],
    )


@router.get("/breakdown", response_model=list[RowRead], summary="指标下钻（按机构或科室）")
def breakdown(
    session: SessionDep,
    actor: CurrentActor,
    indicator: Annotated[str, Query(max_length=40)],
    first: MonthQuery = None,
    last: MonthQuery = None,
    institution_id: OptionalIdQuery = None,
) -> list[RowRead]:
    a, b = service.parse_range(first, last)
    rows = service.breakdown(session, actor, indicator, a, b, institution_id=institution_id)
    return [RowRead(key=r.key, label=r.label, value=r.value, text=r.text) for r in rows]


@router.get("/report", summary="月度报表（PDF / Excel）")
def monthly_report(
    session: SessionDep,
    actor: CurrentActor,
    month: Annotated[str, Query(pattern=MONTH_RE, max_length=7)],
    format: Annotated[str, Query(pattern="^(pdf|xlsx)$")] = "pdf",
    institution_id: OptionalIdQuery = None,
) -> Response:
    name, data = report.render(session, actor, Month.parse(month), institution_id, format)
    media = (
        "application/pdf"
        if format == "pdf"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/refresh", response_model=RefreshRead, summary="按需刷新统计数据")
def refresh(
    session: SessionDep, actor: CurrentActor, first: MonthQuery = None, last: MonthQuery = None
) -> RefreshRead:
    a, b = service.parse_range(first, last)
    row = service.refresh_by(session, actor, a, b)
    return RefreshRead(
        first_month=str(domain.Month.of(row.first_month)),
        last_month=str(domain.Month.of(row.last_month)),
        rows=row.rows,
        milliseconds=row.milliseconds,
    )
