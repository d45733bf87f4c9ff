"""Dashboards: the health commission's city view (/analytics) — headline figures with 同比, a trend and a
ranking of institutions (ECharts, served offline by NiceGUI) — and the hospital view
(/analytics/institution/{id}) with its departments; a figure drills down city → institution →
department. Aggregates only: no page here shows a patient."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.analytics import domain, report, service
from yilian.analytics.domain import Month
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.web import nav
from yilian.web.shell import frame, guard, show_error

nav.register(
    nav.NavItem(
        label="全市运行监测",
        path="/analytics",
        icon="insights",
        group="统计分析",
        permission=Permission.ANALYTICS_CITY,
        order=90,
        description="卫健委视角：各机构门诊、便民惠民、住院、医保指标与同比，逐级下钻",
    )
)


def _range_inputs(first: Month, last: Month) -> tuple[Any, Any]:
    a = (
        ui.input("开始月份（年-月）", value=str(first))
        .props('outlined dense data-testid="an-first"')
        .classes("w-40")
    )
    b = (
        ui.input("结束月份（年-月）", value=str(last))
        .props('outlined dense data-testid="an-last"')
        .classes("w-40")
    )
    return a, b


def _cards(figs: list[service.Figure], on_pick: Any) -> None:
    with ui.row().classes("w-full gap-2"):
        for f in figs:
            tone = "text-grey-6" if not f.indicator.available else "text-grey-9"
            change = f.change
            with (
                ui.card()
                .classes("w-52 q-pa-sm cursor-pointer")
                .props(f'data-testid="fig-{f.indicator.code}"')
                .on("click", lambda _e, code=f.indicator.code: on_pick(code))
            ):
                ui.label(f.indicator.name).classes("text-xs text-grey-7")
                ui.label(f.text).classes(f"text-h6 {tone}")
                if change is not None:
                    color = (
                        "text-positive" if (change >= 0) == f.indicator.higher_is_better else "text-negative"
                    )
                    ui.label(f"同比 {change:+.1f}%（上年同期 {f.before_text}）").classes(f"text-xs {color}")
                elif f.indicator.available:
                    ui.label(f"上年同期 {f.before_text}").classes("text-xs text-grey-6")


def _trend_chart(
    ind: domain.Indicator, rows: list[tuple[Month, float | int | None, float | int | None]]
) -> None:
    scale = 100 if ind.unit is domain.Unit.FEN else 1
    unit = "元" if ind.unit is domain.Unit.FEN else ind.unit.value
    ui.echart(
        {
            "animation": False,
            "title": {"text": f"{ind.name}月度趋势（{unit}）", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "legend": {"right": 10, "top": 0},
            "grid": {"top": 50, "bottom": 30, "left": 60, "right": 20},
            "xAxis": {"type": "category", "data": [m.label for m, _v, _b in rows]},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "name": "本期",
                    "type": "line",
                    "data": [None if v is None else v / scale for _m, v, _b in rows],
                },
                {
                    "name": "上年同期",
                    "type": "line",
                    "data": [None if b is None else b / scale for _m, _v, b in rows],
                },
            ],
        }
    ).classes("w-full h-64").props('data-testid="an-trend"')


def _ranking_chart(ind: domain.Indicator, rows: list[service.Row], what: str) -> None:
    scale = 100 if ind.unit is domain.Unit.FEN else 1
    top = rows[:15]
    ui.echart(
        {
            "animation": False,
            "title": {"text": f"{ind.name}{what}排名", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "grid": {"top": 40, "bottom": 20, "left": 140, "right": 30},
            "xAxis": {"type": "value"},
            "yAxis": {"type": "category", "inverse": True, "data": [r.label for r in top]},
            "series": [{"type": "bar", "data": [(r.value or 0) / scale for r in top]}],
        }
    ).classes("w-full h-80").props('data-testid="an-ranking"')


def _table(rows: list[service.Row], name: str, link: Any) -> None:
    columns = [
        {"name": "label", "label": name, "field": "label", "align": "left"},
        {"name": "text", "label": "数值", "field": "text", "align": "right"},
    ]
    table = (
        ui.table(
            columns=columns,
            rows=[{"key": r.key, "label": r.label, "text": r.text} for r in rows],
            row_key="key",
        )
        .classes("w-full")
        .props('dense flat data-testid="an-table"')
    )
    table.add_slot(
        "body-cell-label",
        '<q-td :props="props"><a class="text-primary cursor-pointer" '
        ":data-testid=\"'row-' + props.row.key\" @click=\"$parent.$emit('pick', props.row)\">"
        "{{ props.row.label }}</a></q-td>",
    )
    table.on("pick", lambda e: link(int(e.args["key"])))


def _download(actor: Actor, month_input: Any, institution_id: int | None) -> None:
    def go(fmt: str) -> None:
        try:
            month = Month.parse(str(month_input.value or ""))
            with unit_of_work() as session:
                name, data = report.render(session, actor, month, institution_id, fmt)
        except YilianError as exc:
            show_error(exc)
            return
        ui.download.content(data, name)

    ui.button("下载月报 PDF", icon="picture_as_pdf", on_click=lambda: go("pdf")).props(
        'outline data-testid="an-pdf"'
    )
    ui.button("下载月报 Excel", icon="grid_on", on_click=lambda: go("xlsx")).props(
        'outline data-testid="an-xlsx"'
    )


def _params(request: Request) -> tuple[Month, Month, str]:
    q = request.query_params
    try:
        first, last = service.parse_range(q.get("first"), q.get("last"))
    except YilianError:
        first, last = service.parse_range(None, None)
    code = q.get("indicator") or "credit_visits"
    if code not in domain.BY_CODE:
        code = "credit_visits"
    return first, last, code


def _board(actor: Actor, first: Month, last: Month, code: str, institution_id: int | None) -> None:
    """The dashboard body: range, figures, the chosen indicator's trend, ranking and drill table."""
    state = {"code": code}
    with ui.row().classes("items-end gap-2 w-full"):
        a, b = _range_inputs(first, last)
        ui.button("查询", on_click=lambda: body.refresh()).props('data-testid="an-query"')
        _download(actor, b, institution_id)

    def pick(c: str) -> None:
        state["code"] = c
        body.refresh()

    @ui.refreshable
    def body() -> None:
        try:
            f, lst = service.parse_range(a.value, b.value)
            with unit_of_work() as session:
                figs = service.figures(session, actor, f, lst, institution_id=institution_id)
                ind = domain.indicator(state["code"])
                tr = service.trend(session, actor, ind.code, f, lst, institution_id=institution_id)
                grain_ok = (domain.INSTITUTION if institution_id is None else domain.DEPARTMENT) in ind.grains
                rows = (
                    service.breakdown(session, actor, ind.code, f, lst, institution_id=institution_id)
                    if grain_ok
                    else []
                )
        except YilianError as exc:
            show_error(exc)
            return
        _cards(figs, pick)
        ui.label(f"当前指标：{ind.name}（{ind.formula}）").classes("text-subtitle2 q-mt-md").props(
            'data-testid="an-current"'
        )
        _trend_chart(ind, tr)
        what = "机构" if institution_id is None else "科室"
        if not grain_ok:
            whole = "全市" if institution_id is None else "全院"
            ui.label(f"该指标暂无按{what}的口径（{whole}汇总）").classes("text-grey-7")
            return
        _ranking_chart(ind, rows, what)
        q = f"?indicator={ind.code}&first={f}&last={lst}"
        if institution_id is None:
            _table(rows, "机构", lambda k: ui.navigate.to(f"/analytics/institution/{k}{q}"))
        else:
            _table(
                rows,
                "科室",
                lambda k: ui.navigate.to(f"/analytics/institution/{institution_id}/department/{k}{q}"),
            )

    body()


@ui.page("/analytics")
def city_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.ANALYTICS_CITY)
    if isinstance(actor, RedirectResponse):
        return actor
    first, last, code = _params(request)
    with frame(actor, "全市运行监测"):
        if not actor.has(Permission.ANALYTICS_CITY):
            ui.label("无权查看全市统计").classes("text-grey-7")
            return None
        _board(actor, first, last, code, None)
    return None


@ui.page("/analytics/institution/{institution_id}")
def institution_page(request: Request, institution_id: int) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    first, last, code = _params(request)
    with unit_of_work() as session:
        names = service.institution_options(session, actor)
    with frame(actor, f"机构运行监测 · {names.get(institution_id, '')}"):
        try:
            service.check_scope(actor, institution_id)
        except YilianError as exc:
            ui.label(exc.detail).classes("text-grey-7")
            return None
        if actor.has(Permission.ANALYTICS_CITY):
            ui.link("← 返回全市", f"/analytics?indicator={code}&first={first}&last={last}").props(
                'data-testid="an-back"'
            )
        _board(actor, first, last, code, institution_id)
    return None


@ui.page("/analytics/institution/{institution_id}/department/{department_id}")
def department_page(request: Request, institution_id: int, department_id: int) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    first, last, code = _params(request)
    with frame(actor, "科室运行监测"):
        try:
            with unit_of_work() as session:
                figs = service.department_figures(session, actor, institution_id, department_id, first, last)
                title = service.department_name(session, department_id)
        except YilianError as exc:
            show_error(exc)
            return None
        ui.link(
            "← 返回机构",
            f"/analytics/institution/{institution_id}?indicator={code}&first={first}&last={last}",
        )
        ui.label(f"{title} · {first.label}–{last.label}").classes("text-h6").props(
            'data-testid="an-dept-title"'
        )
        _cards(figs, lambda _c: None)
    return None
