"""Pages of the DRG area: single-record grouping (for coders), batch upload, operations dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import events, run, ui

from yilian.drg import inpatient_pages, service
from yilian.drg.domain import (
    DX_CODE_RE,
    GroupResult,
    GroupStatus,
    RecordError,
    UnitStats,
    make_record,
    split_codes,
)
from yilian.drg.service import Analysis
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.web import nav
from yilian.web.components import bar_chart, data_table, metric_row, money_cell, profit_bars
from yilian.web.shell import frame, guard, show_error

_ = inpatient_pages  # the coder's DRG preview of an inpatient abstract

nav.register(
    nav.NavItem(
        label="DRG 分组",
        path="/drg/group",
        icon="category",
        group="DRG 与医保",
        permission=Permission.DRG_GROUP,
        order=60,
        description="录入病案首页，查看 CHS-DRG 分组及逐步解释",
    )
)
nav.register(
    nav.NavItem(
        label="病案批量分组",
        path="/drg/batches",
        icon="upload_file",
        group="DRG 与医保",
        permission=Permission.DRG_ANALYZE,
        order=61,
        description="上传一个月的出院病案首页（CSV/Excel），批量分组与结算测算",
    )
)
nav.register(
    nav.NavItem(
        label="科室 DRG 运营",
        path="/drg/dashboard",
        icon="insights",
        group="DRG 与医保",
        permission=Permission.DRG_ANALYZE,
        order=62,
        description="CMI、费用与时间消耗指数、盈亏、高低倍率病例",
    )
)

SEVERITY = {"MCC": "伴严重并发症或合并症（MCC）", "CC": "伴并发症或合并症（CC）", "none": "无有效 CC/MCC"}
STATUS = {"grouped": "已入组", "ungroupable": "无法入组", "ambiguous": "歧义组", "error": "错误"}


def _scheme_codes() -> list[str]:
    with unit_of_work() as session:
        return [s.code for s in service.list_schemes(session)]


@ui.page("/drg/group")
def group_page(request: Request) -> RedirectResponse | None:
    """One record at a time, with the step-by-step explanation (what a coder uses while coding)."""
    actor = guard(request, Permission.DRG_GROUP)
    if isinstance(actor, RedirectResponse):
        return actor
    codes = _scheme_codes()
    with frame(actor, "DRG 分组"):
        if not codes:
            ui.label("尚未导入分组方案：请先运行 yilian drg import-scheme。").classes("text-negative")
            return None
        with ui.card().classes("w-full max-w-5xl"):
            _GroupForm(codes)
    return None


class _GroupForm:
    """The single-record form: the patient's figures, the codes (with a code search and a check of the
    principal diagnosis), and the grouping result with its steps."""

    def __init__(self, codes: list[str]) -> None:
        with ui.row().classes("w-full gap-4"):
            self.scheme = ui.select(codes, value=codes[0], label="分组方案").classes("w-40")
            self.sex = ui.select({1: "男", 2: "女", 0: "未知"}, value=1, label="性别").classes("w-24")
            self.age = ui.number("年龄（岁）", value=50, min=0, max=150, format="%d").classes("w-28")
            self.age_days = ui.number("年龄（天，婴儿）", min=0, format="%d").classes("w-36")
            self.weight = ui.number("出生体重（克）", format="%d").classes("w-32")
            self.vent = ui.number("呼吸机（小时）", min=0, format="%d").classes("w-32")
        with ui.row().classes("w-full items-start gap-4"):
            self.pdx = (
                ui.input("主要诊断编码", placeholder="如 I63.900")
                .classes("w-64")
                .props('data-testid="drg-pdx"')
            )
            self.pdx_info = ui.column().classes("gap-1 pt-2").props('data-testid="drg-pdx-info"')
        self.other = (
            ui.input("其他诊断编码（用 | 或空格分隔）").classes("w-full").props('data-testid="drg-other"')
        )
        self.procs = (
            ui.input("手术操作编码（主要手术在前）").classes("w-full").props('data-testid="drg-procs"')
        )
        self._code_search()
        self.pdx.on_value_change(lambda _: self.check_pdx())
        self.result = ui.column().classes("w-full")
        ui.button("分组", icon="play_arrow", on_click=self.run).props('data-testid="drg-run"')

    def _code_search(self) -> None:
        with ui.expansion("编码查询（编码、名称或拼音首字母）", icon="search").classes("w-full"):
            with ui.row().classes("items-end gap-2"):
                kinds = {"diagnosis": "诊断", "procedure": "手术操作"}
                self.kind = ui.select(kinds, value="diagnosis").classes("w-28")
                self.query = ui.input("如 jxlwy、阑尾、K35").props('data-testid="drg-code-query"')
                ui.button("查询", on_click=self.search).props('flat data-testid="drg-code-search"')
            self.hits = ui.column().classes("gap-0")

    def use_code(self, code_kind: str, code: str) -> None:
        if code_kind == "procedure":
            self.procs.value = " ".join([*split_codes(self.procs.value or ""), code])
        elif not (self.pdx.value or "").strip():
            self.pdx.value = code
        else:
            self.other.value = " ".join([*split_codes(self.other.value or ""), code])

    def search(self) -> None:
        self.hits.clear()
        with unit_of_work() as session:
            found = service.search_codes(session, self.kind.value, self.query.value or "")
        with self.hits:
            if not found:
                ui.label("未找到").classes("text-grey-7")
            for e in found:
                ui.button(e.label, on_click=lambda _=None, k=e.kind, c=e.code: self.use_code(k, c)).props(
                    "flat dense no-caps align=left"
                ).classes("text-left")

    def check_pdx(self) -> None:
        """Say before grouping when no MDC accepts the principal diagnosis, with codes that do."""
        self.pdx_info.clear()
        code = (self.pdx.value or "").strip()
        if not code or not DX_CODE_RE.match(code) or not self.scheme.value:
            return
        try:
            with unit_of_work() as session:
                name = service.code_name(session, code)
                reason, better = service.check_principal_dx(session, self.scheme.value, code)
        except YilianError:
            return
        with self.pdx_info:
            if name:
                ui.label(name).classes("text-grey-8")
            elif name is not None:
                ui.label("该编码不在医保版诊断编码表中").classes("text-negative")
            if reason:
                ui.label(reason).classes("text-negative").props('data-testid="drg-pdx-warning"')
                if better:
                    with ui.row().classes("gap-1 items-center"):
                        ui.label("可改用：").classes("text-sm")
                        for e in better:
                            ui.button(e.label, on_click=lambda _=None, c=e.code: self.set_pdx(c)).props(
                                "flat dense no-caps color=primary"
                            )

    def set_pdx(self, code: str) -> None:
        self.pdx.value = code

    def run(self) -> None:
        self.result.clear()
        try:
            rec = make_record(
                principal_dx=self.pdx.value or "",
                other_dx=split_codes(self.other.value or ""),
                procedures=split_codes(self.procs.value or ""),
                sex=int(self.sex.value or 0),
                age_years=int(self.age.value) if self.age.value is not None else None,
                age_days=int(self.age_days.value) if self.age_days.value is not None else None,
                birth_weight_g=int(self.weight.value) if self.weight.value else None,
                ventilation_hours=int(self.vent.value) if self.vent.value is not None else None,
            )
        except RecordError as exc:
            ui.notify(f"病案首页数据不合法：{exc.message}", type="negative")
            return
        try:
            with unit_of_work() as session:
                service.require_known_codes(session, rec)
                res = service.group_records(session, self.scheme.value, [rec])[0]
        except YilianError as exc:
            show_error(exc)
            return
        with self.result:
            _group_result(res)


def _group_result(res: GroupResult) -> None:
    """The grouping result: the DRG with its name and status, the MDC/ADRG line and the steps."""
    with ui.card().classes("w-full bg-blue-50"):
        with ui.row().classes("items-baseline gap-4"):
            ui.label(res.drg).classes("text-h4 text-primary").props('data-testid="drg-result"')
            ui.label(res.drg_name).classes("text-h6")
            ui.badge(
                STATUS[res.status], color="positive" if res.status == GroupStatus.GROUPED else "negative"
            )
        ui.label(
            f"MDC：{res.mdc or '—'}　ADRG：{res.adrg or '—'}　{SEVERITY[res.severity]}"
            + (f"（由 {res.trigger} 触发）" if res.trigger else "")
        ).classes("text-grey-8")
        if res.reason:
            ui.label(f"原因：{res.reason}").classes("text-negative")
    ui.label("分组步骤").classes("text-subtitle1 q-mt-sm")
    with ui.column().classes("gap-1").props('data-testid="drg-steps"'):
        for i, step in enumerate(res.steps, 1):
            ui.label(f"{i}. {step}").classes("text-body2")


def _cases_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        {"name": k, "label": label, "field": k, "sortable": True}
        for k, label in (
            ("record_no", "病案号"),
            ("department", "科室"),
            ("doctor", "医生"),
            ("principal_dx", "主要诊断"),
            ("principal_procedure", "主要手术"),
            ("drg", "DRG"),
            ("status", "状态"),
            ("severity", "CC/MCC"),
            ("weight", "权重"),
            ("cost", "费用"),
            ("payment", "支付"),
            ("outlier", "偏差"),
            ("unknown", "未知编码"),
        )
    ]
    ui.table(columns=columns, rows=rows, row_key="record_no", pagination=20).classes("w-full").props(
        'dense data-testid="drg-cases"'
    )


def _case_rows(batch_id: int, actor: Any) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        g = service.batch_grouper(session, service.get_batch(session, batch_id))
        return [
            {
                "record_no": c.record_no,
                "department": c.department,
                "doctor": c.doctor,
                **service.case_view(g, c),
                "status": STATUS.get(c.status, c.status),
                "severity": c.severity,
                "weight": f"{c.weight:.4f}" if c.weight is not None else "",
                "cost": yuan(c.total_cost_fen),
                "payment": yuan(c.payment_fen),
                "outlier": {"high": "高倍率", "low": "低倍率"}.get(c.outlier, ""),
                "unknown": c.unknown_codes.replace("|", "、"),
            }
            for c in service.batch_cases(session, actor, batch_id)
        ]


@ui.page("/drg/batches")
def batches_page(request: Request, batch: int | None = None) -> RedirectResponse | None:
    """Upload a month of discharge records; see the grouping of each."""
    actor = guard(request, Permission.DRG_ANALYZE)
    if isinstance(actor, RedirectResponse):
        return actor
    codes = _scheme_codes()
    with frame(actor, "病案批量分组"):
        ui.label(
            "文件格式（CSV UTF-8 或 Excel）：病案号、科室、主治医师、性别、年龄、年龄天数、"
            "新生儿出生体重、入院日期、出院日期、住院天数、离院方式、诊断编码（| 分隔，第一个为主要诊断）、"
            "手术操作编码、呼吸机使用小时、总费用（元）。"
        ).classes("text-grey-7 text-sm")
        with ui.row().classes("items-end gap-4"):
            scheme = ui.select(codes, value=codes[0] if codes else None, label="分组方案").classes("w-40")
            level = ui.select(["三级", "二级", "一级"], value="三级", label="机构等级（费率）").classes(
                "w-40"
            )
        progress = ui.linear_progress(show_value=False).props("indeterminate").classes("w-96")
        progress.visible = False
        status = ui.label("").props('data-testid="drg-upload-status"')
        results = ui.column().classes("w-full")

        async def on_upload(e: events.UploadEventArguments) -> None:
            progress.visible = True
            status.text = f"正在分组 {e.file.name} …"
            data = await e.file.read()
            name, code, lvl = e.file.name, scheme.value, level.value

            def work() -> tuple[int, str]:
                with unit_of_work() as session:
                    rows = service.read_table(data, name)
                    b = service.upload_batch(session, actor, code, rows, name=name, institution_level=lvl)
                    return (
                        b.id,
                        f"共 {b.rows} 份：入组 {b.grouped}，歧义 {b.ambiguous}，无法入组 {b.ungroupable}",
                    )

            try:
                done = await run.io_bound(work)  # grouping off the event loop; the bar keeps moving
            except YilianError as exc:
                progress.visible = False
                status.text = ""
                show_error(exc)
                return
            progress.visible = False
            if done is None:  # the server is shutting down
                return
            bid, summary = done
            status.text = f"批次 {bid} 已完成。{summary}"
            results.clear()
            with results:
                ui.link("查看科室运营分析", f"/drg/dashboard?batch={bid}")
                _cases_table(_case_rows(bid, actor))

        ui.upload(label="选择病案首页文件", auto_upload=True, on_upload=on_upload).props(
            'accept=".csv,.xlsx" data-testid="drg-upload"'
        ).classes("w-96")
        with unit_of_work() as session:
            recent = [(b.id, b.name, b.rows, b.uploaded_at) for b in service.list_batches(session)]
        if recent:
            ui.label("最近的批次").classes("text-subtitle1")
            with ui.column().classes("gap-1"):
                for bid, name, n, at in recent[:10]:
                    ui.link(f"#{bid} {name}（{n} 份，{at:%Y-%m-%d %H:%M}）", f"/drg/batches?batch={bid}")
        if batch is not None:
            with results:
                ui.link("查看科室运营分析", f"/drg/dashboard?batch={batch}")
                try:
                    _cases_table(_case_rows(batch, actor))
                except YilianError as exc:
                    show_error(exc)
    return None


@ui.page("/drg/dashboard")
def dashboard_page(
    request: Request, batch: int | None = None, department: str = ""
) -> RedirectResponse | None:
    """Department operations: CMI, cost and time indices, profit or loss by DRG, outliers; Excel export."""
    actor = guard(request, Permission.DRG_ANALYZE)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "科室 DRG 运营"):
        with unit_of_work() as session:
            recent = service.list_batches(session)
            if batch is None and recent:
                batch = recent[0].id
            options = {b.id: f"#{b.id} {b.name}" for b in recent}
            if batch is None:
                ui.label("还没有上传出院病案。").classes("text-grey-7")
                return None
            try:
                a = service.analyse_batch(session, actor, batch, department or None)
            except YilianError as exc:
                show_error(exc)
                return None
        depts = [d for d in a.departments if not department or d.unit == department]
        _dashboard_filters(actor, options, batch, department, a)
        _dashboard_metrics(depts)
        _department_charts(depts)
        _department_table(depts)
        _drg_profit_chart(a)
        _doctor_table(a)
        _losing_drg_table(a)
        _outlier_table(a)
    return None


def _dashboard_filters(
    actor: Actor, options: dict[int, str], batch: int, department: str, a: Analysis
) -> None:
    """The batch and department pickers and the Excel export."""
    with ui.row().classes("items-end gap-4"):
        ui.select(
            options,
            value=batch,
            label="批次",
            on_change=lambda e: ui.navigate.to(f"/drg/dashboard?batch={e.value}"),
        ).classes("w-72")
        ui.select(
            [""] + [d.unit for d in a.departments],
            value=department,
            label="科室（空 = 全部）",
            on_change=lambda e: ui.navigate.to(f"/drg/dashboard?batch={batch}&department={e.value}"),
        ).classes("w-56")

        def export() -> None:
            with unit_of_work() as session:
                data = service.export_xlsx(session, actor, int(batch or 0))
            ui.download.content(data, f"drg-batch-{batch}.xlsx")

        ui.button("导出 Excel", icon="download", on_click=export).props('data-testid="drg-export"')


def _dashboard_metrics(depts: Sequence[UnitStats]) -> None:
    """Cases, CMI, profit and outliers of the shown departments, as metric cards."""
    cases = sum(d.cases for d in depts)
    weight = sum(float(d.total_weight) for d in depts)
    metric_row(
        [
            ("入组病例", f"{cases}"),
            ("CMI", f"{weight / cases:.2f}" if cases else "—"),
            ("盈亏", money_cell(sum(d.profit_fen for d in depts))),
            ("高倍率", str(sum(d.high_outliers for d in depts))),
            ("低倍率", str(sum(d.low_outliers for d in depts))),
        ]
    )


def _department_charts(depts: Sequence[UnitStats]) -> None:
    """CMI with the cost and time indices, and the profit or loss, by department."""
    names = [d.unit for d in depts]
    bar_chart(
        "科室 CMI 与消耗指数",
        names,
        [
            {"name": "CMI", "type": "bar", "data": [float(d.cmi) for d in depts]},
            {"name": "费用消耗指数", "type": "line", "data": [float(d.cost_index) for d in depts]},
            {"name": "时间消耗指数", "type": "line", "data": [float(d.time_index) for d in depts]},
        ],
        height="h-80",
        grid={"top": 60, "bottom": 80},
        legend=True,
        testid="drg-chart-cmi",
    )
    bar_chart("科室盈亏（元）", names, [profit_bars(d.profit_fen for d in depts)])


def _unit_row(d: UnitStats) -> dict[str, Any]:
    return {
        "unit": d.unit,
        "cases": d.cases,
        "cmi": f"{d.cmi:.4f}",
        "cost_index": f"{d.cost_index:.2f}",
        "time_index": f"{d.time_index:.2f}",
        "profit": money_cell(d.profit_fen),
    }


UNIT_COLUMNS = (
    ("cases", "病例数"),
    ("cmi", "CMI"),
    ("cost_index", "费用消耗指数"),
    ("time_index", "时间消耗指数"),
    ("profit", "盈亏"),
)


def _department_table(depts: Sequence[UnitStats]) -> None:
    data_table(
        [("unit", "科室"), *UNIT_COLUMNS, ("high", "高倍率"), ("low", "低倍率")],
        [{**_unit_row(d), "high": d.high_outliers, "low": d.low_outliers} for d in depts],
        row_key="unit",
        sortable=True,
        testid="drg-departments",
    )


def _drg_profit_chart(a: Analysis) -> None:
    """Profit or loss of the 15 DRGs with the most cases."""
    top = a.by_drg[:15]
    bar_chart(
        "病组盈亏（病例数前 15 的 DRG，元）",
        [d[0] for d in top],
        [profit_bars(d[4] - d[3] for d in top)],
        grid={"top": 40, "bottom": 60},
        testid="drg-chart-drg",
    )


def _doctor_table(a: Analysis) -> None:
    ui.label("医生").classes("text-subtitle1")
    data_table(
        [("unit", "科室/医生"), *UNIT_COLUMNS],
        [_unit_row(d) for d in a.doctors],
        row_key="unit",
        sortable=True,
        pagination=10,
        testid="drg-doctors",
    )


def _losing_drg_table(a: Analysis) -> None:
    ui.label("亏损最多的病组").classes("text-subtitle1")
    data_table(
        [("department", "科室"), ("drg", "DRG"), ("cases", "病例数"), ("loss", "盈亏")],
        [
            {"department": d, "drg": a.drg_label(g), "cases": n, "loss": money_cell(p), "key": f"{d}{g}"}
            for d, g, n, p in a.losing_drgs
        ],
        row_key="key",
    )


def _outlier_table(a: Analysis) -> None:
    if not a.outliers:
        return
    ui.label(f"高低倍率病例（{len(a.outliers)}）").classes("text-subtitle1")
    data_table(
        [
            ("record_no", "病案号"),
            ("department", "科室"),
            ("principal_dx", "主要诊断"),
            ("drg", "DRG"),
            ("cost", "费用"),
            ("outlier", "类型"),
        ],
        [
            {
                "record_no": c.record_no,
                "department": c.department,
                "principal_dx": a.code_label(c.principal_dx),
                "drg": a.drg_label(c.drg),
                "cost": money_cell(c.total_cost_fen),
                "outlier": "高倍率" if c.outlier == "high" else "低倍率",
            }
            for c in a.outliers[:200]
        ],
        row_key="record_no",
        pagination=10,
    )
