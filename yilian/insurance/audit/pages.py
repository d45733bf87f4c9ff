"""Pages of the smart insurance audit: rule library browser/editor, run launcher with progress, findings
with filters and drill-down, and the doctor-facing pre-check warning panel."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import events, run, ui

from yilian.insurance.audit import service
from yilian.insurance.audit.domain import (
    FAMILY_LABELS,
    SEVERITY_LABELS,
    STAGE_LABELS,
    ClaimLine,
    Family,
    RuleLibrary,
    Severity,
    Stage,
    value_label,
)
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import parse_yuan, yuan
from yilian.web import nav
from yilian.web.components import columns_of, data_table, money_cell
from yilian.web.shell import allowed, frame, guard, show_error

GROUP = "DRG 与医保"
for item in (
    nav.NavItem(
        "审核规则库",
        "/audit/rules",
        "rule",
        GROUP,
        Permission.CLAIMS_AUDIT,
        order=70,
        description="医保智能审核规则的浏览、编辑与校验",
    ),
    nav.NavItem(
        "事后审核",
        "/audit/runs",
        "fact_check",
        GROUP,
        Permission.CLAIMS_AUDIT,
        order=71,
        description="按期间审核结算明细，查看进度与结果",
    ),
    nav.NavItem(
        "审核疑点",
        "/audit/findings",
        "report",
        GROUP,
        any_of=frozenset({Permission.CLAIMS_AUDIT, Permission.CLAIMS_APPEAL}),
        order=72,
        description="疑点筛选、明细、确认 / 剔除 / 申诉",
    ),
    nav.NavItem(
        "事前审核提醒",
        "/audit/precheck",
        "health_and_safety",
        GROUP,
        Permission.CLAIMS_PRECHECK,
        order=73,
        description="开单前检查医保规则，提示违规风险",
    ),
):
    nav.register(item)

STATUS_LABELS = service.STATUS_LABELS


RULE_COLUMNS = [
    ("id", "规则编号"),
    ("family_label", "类别"),
    ("description", "说明"),
    ("severity", "违规程度"),
    ("stages", "适用阶段"),
    ("effective", "生效期间"),
    ("items", "项目数"),
]


@ui.page("/audit/rules")
def rules_page(request: Request) -> RedirectResponse | None:
    """The rule library: its version and history, the rules by family, and (for rule editors) the YAML."""
    actor = guard(request, Permission.CLAIMS_AUDIT)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.CLAIMS_AUDIT):
        return None
    with unit_of_work() as session:
        lib = service.active_library(session)
        text = service.active_text(session)
        versions = [(v.version, v.active, v.created_by) for v in service.list_libraries(session)]
    with frame(actor, "审核规则库"):
        ui.label(f"当前版本 {lib.version}　{lib.name}　共 {len(lib.rules)} 条规则").props(
            'data-testid="audit-library-version"'
        )
        if versions:
            ui.label(
                "历史版本：" + "，".join(f"{v}{'（启用中）' if a else ''}" for v, a, _ in versions)
            ).classes("text-grey-7 text-sm")
        _rules_table(lib)
        if not actor.has(Permission.CLAIMS_RULES):
            return None
        _RuleEditor(actor, text)
    return None


def _rules_table(lib: RuleLibrary) -> None:
    """The library's rules, filtered by family."""
    family = ui.select(
        {"": "全部类别", **{f.value: FAMILY_LABELS[f] for f in Family}}, value="", label="规则类别"
    )
    rows = [
        {
            "id": r.id,
            "family": r.family.value,
            "family_label": FAMILY_LABELS[r.family],
            "description": r.description,
            "severity": SEVERITY_LABELS[r.severity],
            "stages": "、".join(STAGE_LABELS[s] for s in sorted(r.stages)),
            "effective": f"{r.effective_from:%Y-%m-%d} ~ {r.effective_to:%Y-%m-%d}",
            "items": len(r.items()),
        }
        for r in lib.rules
    ]
    table = data_table(
        columns_of(RULE_COLUMNS, sortable=True, align="left"),
        rows,
        row_key="id",
        testid="audit-rules",
        pagination=30,
    )

    def refilter() -> None:
        table.rows = [r for r in rows if not family.value or r["family"] == family.value]
        table.update()

    family.on_value_change(lambda _: refilter())


class _RuleEditor:
    """The library as YAML: validate it line by line, save it as a new active version."""

    def __init__(self, actor: Actor, text: str) -> None:
        self.actor = actor
        ui.label("编辑规则库（YAML，保存即生成新版本并启用；请修改 version）").classes(
            "text-subtitle1 q-mt-md"
        )
        self.editor = (
            ui.textarea(value=text)
            .classes("w-full font-mono")
            .props('rows=18 outlined data-testid="audit-editor"')
        )
        self.issues = ui.column().classes("w-full gap-1").props('data-testid="audit-issues"')
        with ui.row():
            ui.button("校验", icon="check", on_click=self.validate).props('data-testid="audit-validate"')
            ui.button("保存新版本", icon="save", on_click=self.save).props('data-testid="audit-save"')

    def validate(self) -> bool:
        self.issues.clear()
        parsed, found = service.validate_text(self.editor.value or "")
        with self.issues:
            if parsed is None:
                for issue in found:
                    ui.label(f"第 {issue.line} 行：{issue.message}").classes("text-negative text-sm")
            else:
                ui.label(f"校验通过：版本 {parsed.version}，{len(parsed.rules)} 条规则").classes(
                    "text-positive"
                )
        return parsed is not None

    def save(self) -> None:
        if not self.validate():
            return
        try:
            with unit_of_work() as session:
                row = service.save_library(session, self.actor, self.editor.value or "")
                version = row.version
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已保存并启用规则库版本 {version}", type="positive")


def _run_rows(actor: Actor) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        rows, _ = service.list_runs(session, 0, 20)
        return [
            {
                "id": r.id,
                "period": f"{r.date_from} ~ {r.date_to}",
                "source": r.source,
                "status": {"running": "运行中", "done": "完成", "failed": "失败"}.get(r.status, r.status),
                "lines": f"{r.lines_scanned:,}",
                "findings": r.findings_count,
                "amount": yuan(r.amount_total),
                "library": r.library_version,
                "by": r.started_by,
            }
            for r in rows
        ]


RUN_COLUMNS = [
    ("id", "批次"),
    ("period", "期间"),
    ("source", "数据来源"),
    ("status", "状态"),
    ("lines", "明细行数"),
    ("findings", "疑点数"),
    ("amount", "疑点金额（元）"),
    ("library", "规则库"),
    ("by", "发起人"),
]


@ui.page("/audit/runs")
def runs_page(request: Request) -> RedirectResponse | None:
    """Launch an audit of a period (stored lines and uploaded files) with progress; the past runs."""
    actor = guard(request, Permission.CLAIMS_AUDIT)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.CLAIMS_AUDIT):
        return None
    with frame(actor, "事后审核"):
        _RunLauncher(actor)
    return None


class _RunLauncher:
    """The period and files to audit, the progress bar while a run works in a thread, the runs table."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.files: list[Path] = []
        self.state: dict[str, Any] = {}
        today = business_date()
        ui.label(
            "审核已存储的结算明细，并可上传结算明细文件（CSV / Parquet，列：见下行；金额单位为分）。"
        ).classes("text-grey-7 text-sm")
        ui.html(f"<code>{service.CLAIM_FILE_LAYOUT}</code>").classes("text-grey-7 text-xs")
        with ui.row().classes("items-end gap-4"):
            self.start = ui.input("开始日期", value=(today - timedelta(days=365)).isoformat()).props(
                'type=date data-testid="audit-from"'
            )
            self.end = ui.input("结束日期", value=today.isoformat()).props('type=date data-testid="audit-to"')
            self.stored = ui.checkbox("包含已存储明细", value=True)
        ui.upload(label="上传结算明细文件", on_upload=self.on_upload, auto_upload=True).props(
            'accept=".csv,.parquet"'
        )
        self.files_label = ui.label("").classes("text-sm")
        self.bar = (
            ui.linear_progress(value=0, show_value=False)
            .classes("w-96")
            .props('data-testid="audit-progress"')
        )
        self.status = ui.label("").props('data-testid="audit-status"')
        self.table = data_table(
            columns_of(RUN_COLUMNS, align="left"), _run_rows(actor), row_key="id", testid="audit-runs"
        )
        self.table.on("rowClick", lambda e: ui.navigate.to(f"/audit/findings?run_id={e.args[1]['id']}"))
        self.timer = ui.timer(0.3, self.tick, active=False)
        ui.button("开始审核", icon="play_arrow", on_click=self.launch).props('data-testid="audit-launch"')

    async def on_upload(self, e: events.UploadEventArguments) -> None:
        suffix = Path(e.file.name).suffix.lower()
        target = Path(tempfile.mkdtemp(prefix="audit-")) / f"upload{suffix}"
        await e.file.save(target)
        self.files.append(target)
        self.files_label.text = "待审核文件：" + "，".join(p.name for p in self.files)

    def progress(self, pct: int, name: str) -> None:
        self.state["pct"], self.state["step"] = pct, name

    def tick(self) -> None:
        if "pct" in self.state:
            self.bar.value = self.state["pct"] / 100
            self.status.text = f"审核中：{self.state['step']}（{self.state['pct']}%）"

    def work(self, date_from: date, date_to: date, files: list[Path], include: bool) -> tuple[int, int, int]:
        with unit_of_work() as session:
            r = service.run_audit(
                session,
                self.actor,
                date_from,
                date_to,
                files=files,
                include_stored=include,
                progress=self.progress,
            )
            return r.id, r.lines_scanned, r.findings_count

    async def launch(self) -> None:
        try:
            date_from, date_to = date.fromisoformat(self.start.value), date.fromisoformat(self.end.value)
        except ValueError:
            ui.notify("请填写有效日期", type="negative")
            return
        self.state.pop("pct", None)
        self.timer.activate()
        self.status.text = "审核中…"
        try:
            result = await run.io_bound(self.work, date_from, date_to, list(self.files), self.stored.value)
        except YilianError as exc:
            show_error(exc)
            self.status.text = "审核失败"
            return
        finally:
            self.timer.deactivate()
            # a tick the timer had already scheduled may still run after this: with no progress left
            # it leaves the final status alone (it used to overwrite 「完成」 with 「审核中：done」)
            self.state.pop("pct", None)
        if result is None:
            return
        run_id, lines, found = result
        self.bar.value = 1
        self.status.text = f"批次 {run_id} 完成：审核 {lines:,} 行明细，发现 {found} 个疑点"
        self.table.rows = _run_rows(self.actor)
        self.table.update()


@ui.page("/audit/findings")
def findings_page(request: Request, run_id: int | None = None) -> RedirectResponse | None:
    actor = guard(request)
    if isinstance(actor, RedirectResponse):
        return actor
    if not (actor.has(Permission.CLAIMS_AUDIT) or actor.has(Permission.CLAIMS_APPEAL)):
        with frame(actor, "没有权限"):
            ui.label(f"当前角色（{actor.role.label}）不能使用此页面。").classes("text-negative")
        return None
    with unit_of_work() as session:
        runs, _ = service.list_runs(session, 0, 50)
        run_options = {
            r.id: f"批次 {r.id}（{r.date_from} ~ {r.date_to}，{r.findings_count} 个疑点）" for r in runs
        }
        # the departments the actor appeals for (科室申诉); None: every department (the office)
        own = service.appeal_departments(session, actor) if actor.has(Permission.CLAIMS_APPEAL) else None
    if run_id is None and runs:
        run_id = runs[0].id
    with frame(actor, "审核疑点"):
        if not runs:
            ui.label("还没有审核批次。").classes("text-grey-7")
            return None
        _FindingsView(actor, own, run_options, run_id).load()
    return None


FINDING_COLUMNS = (
    ("id", "编号"),
    ("rule_id", "规则"),
    ("family", "类别"),
    ("severity", "程度"),
    ("claim_id", "结算单号"),
    ("patient_id", "患者"),
    ("department", "科室"),
    ("date", "日期"),
    ("text", "违规内容"),
    ("amount", "金额（元）"),
    ("status", "状态"),
)


def _finding_row(f: Any) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "family": FAMILY_LABELS[Family(f.family)],
        "severity": SEVERITY_LABELS[Severity(f.severity)],
        "claim_id": f.claim_id,
        "patient_id": f.patient_id,
        "department": "、".join(f.departments) or "—",
        "date": f.service_date.isoformat() if f.service_date else "",
        "text": f.text,
        "amount": money_cell(f.amount),
        "status": STATUS_LABELS.get(f.status, f.status),
    }


class _FindingsView:
    """The findings of a run: the filters, the table (500 at most) and a detail dialog per finding."""

    def __init__(
        self, actor: Actor, own: frozenset[str] | None, run_options: dict[int, str], run_id: int | None
    ) -> None:
        self.actor = actor
        self.own = own
        self._filters(run_options, run_id)
        self.summary = ui.label("")
        self._table()
        if actor.has(Permission.CLAIMS_AUDIT):
            ui.button(
                "导出 Excel",
                icon="download",
                on_click=lambda: ui.navigate.to(
                    f"/api/v1/audit/runs/{self.run_sel.value}/export.xlsx", new_tab=True
                ),
            )

    def department_options(self, run: int | None) -> dict[str, str]:
        with unit_of_work() as session:
            codes = service.run_departments(session, run) if run is not None else []
        mine = self.own or frozenset()
        return {"": "全部科室", **{c: f"{c}（本科室）" if c in mine else c for c in codes}}

    def _filters(self, run_options: dict[int, str], run_id: int | None) -> None:
        with ui.row().classes("items-end gap-4"):
            self.run_sel = ui.select(run_options, value=run_id, label="审核批次").classes("w-96")
            self.status = ui.select({"": "全部状态", **STATUS_LABELS}, value="", label="状态").classes("w-36")
            self.severity = ui.select(
                {"": "全部", **{s.value: SEVERITY_LABELS[s] for s in Severity}}, value="", label="违规程度"
            ).classes("w-32")
            self.family = (
                ui.select(
                    {"": "全部类别", **{f.value: FAMILY_LABELS[f] for f in Family}},
                    value="",
                    label="规则类别",
                )
                .classes("w-48")
                .props('data-testid="audit-family"')
            )
            dept_options = self.department_options(run_id)
            # a doctor of one department starts on that department's findings
            mine = sorted(d for d in self.own or () if d in dept_options)
            start = mine[0] if self.own is not None and len(mine) == 1 else ""
            self.department = (
                ui.select(dept_options, value=start, label="科室")
                .classes("w-40")
                .props('data-testid="audit-department"')
            )
        self.run_sel.on_value_change(lambda _: self.run_changed())
        for control in (self.status, self.severity, self.family, self.department):
            control.on_value_change(lambda _: self.load())

    def _table(self) -> None:
        wrap = "white-space: normal; min-width: 12rem"
        columns = [
            {"name": k, "label": label, "field": k, "align": "left", "style": wrap if k == "text" else ""}
            for k, label in FINDING_COLUMNS
        ]
        self.table = data_table(columns, [], row_key="id", pagination=25, testid="audit-findings")
        self.table.on("rowClick", lambda e: self.open_detail(int(e.args[1]["id"])))

    def load(self) -> None:
        try:
            with unit_of_work() as session:
                rows, total = service.list_findings(
                    session,
                    self.actor,
                    self.run_sel.value,
                    limit=500,
                    status=self.status.value or None,
                    severity=self.severity.value or None,
                    family=self.family.value or None,
                    department=self.department.value or None,
                )
                self.table.rows = [_finding_row(f) for f in rows]
        except YilianError as exc:
            show_error(exc)
            return
        self.summary.text = f"共 {total} 个疑点" + ("（显示前 500 个）" if total > 500 else "")
        self.table.update()

    def run_changed(self) -> None:
        self.department.set_options(self.department_options(self.run_sel.value), value="")
        self.load()

    def open_detail(self, finding_id: int) -> None:
        try:
            with unit_of_work() as session:
                f = service.get_finding(session, self.actor, finding_id)
                trail = [
                    (e.at, e.username, e.action, e.to_status, e.reason)
                    for e in service.finding_trail(session, finding_id)
                ]
                data: dict[str, Any] = {
                    "text": f.text,
                    "evidence": f.evidence,
                    "status": f.status,
                    "claim": f.claim_id,
                    "amount": f.amount,
                    "related": f.related,
                    "rule": f.rule_id,
                    "family": f.family,
                    "departments": f.departments,
                    "may_appeal": self.actor.has(Permission.CLAIMS_APPEAL)
                    and service.can_appeal(f, self.own),
                }
        except YilianError as exc:
            show_error(exc)
            return
        _FindingDetail(self.actor, finding_id, data, trail, on_reviewed=self.load).dialog.open()


EVIDENCE_COLUMNS = (
    ("line_id", "明细号"),
    ("department", "科室"),
    ("item_code", "项目编码"),
    ("service_date", "日期"),
    ("quantity", "数量"),
    ("unit_price", "单价"),
    ("amount", "金额"),
)


class _FindingDetail:
    """One finding in a dialog: what was found, its evidence lines, its review trail and the actions."""

    def __init__(
        self,
        actor: Actor,
        finding_id: int,
        data: dict[str, Any],
        trail: list[tuple[Any, str, str, str, str]],
        *,
        on_reviewed: Callable[[], None],
    ) -> None:
        self.actor = actor
        self.finding_id = finding_id
        self.on_reviewed = on_reviewed
        with (
            ui.dialog() as self.dialog,
            ui.card().classes("w-[720px] max-w-full").props('data-testid="audit-detail"'),
        ):
            self._summary(data)
            self._evidence(data)
            self._trail(trail)
            self.reason = (
                ui.input("理由（剔除、申诉必填）").classes("w-full").props('data-testid="audit-reason"')
            )
            self._actions(data)

    def _summary(self, data: dict[str, Any]) -> None:
        ui.label(f"疑点 {self.finding_id}　{data['rule']}　{STATUS_LABELS[data['status']]}").classes(
            "text-h6"
        )
        ui.label(data["text"])
        ui.label(
            f"结算单号 {data['claim']}　科室 {'、'.join(data['departments']) or '未标明'}"
            f"　违规金额 {money_cell(data['amount'])} 元"
        ).classes("text-sm").props('data-testid="audit-detail-department"')
        if data["related"]:
            ui.label("关联住院：" + "，".join(data["related"])).classes("text-sm")

    def _evidence(self, data: dict[str, Any]) -> None:
        ev_lines = data["evidence"].get("lines", [])
        if ev_lines:
            data_table(
                columns_of(EVIDENCE_COLUMNS, align="left"),
                [
                    {**ln, "unit_price": money_cell(ln["unit_price"]), "amount": money_cell(ln["amount"])}
                    if isinstance(ln.get("amount"), int)
                    else ln
                    for ln in ev_lines
                ],
                row_key="line_id",
                props="dense flat",
                full_width=False,
            )
        ui.label(
            f"诊断 {data['evidence'].get('diagnosis', '')}　"
            f"取值 {value_label(data['family'], str(data['evidence'].get('value', '')))}"
        )

    def _trail(self, trail: list[tuple[Any, str, str, str, str]]) -> None:
        if trail:
            ui.label("审核轨迹").classes("text-subtitle2")
            for at, who, action, to, why in trail:
                ui.label(
                    f"{at:%Y-%m-%d %H:%M} {who} {service.ACTION_LABELS[action]} → {STATUS_LABELS[to]} {why}"
                ).classes("text-sm")

    def act(self, action: str) -> None:
        try:
            with unit_of_work() as session:
                service.review(session, self.actor, self.finding_id, action, self.reason.value or "")
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已{service.ACTION_LABELS[action]}", type="positive")
        self.dialog.close()
        self.on_reviewed()

    def _actions(self, data: dict[str, Any]) -> None:
        with ui.row():
            if self.actor.has(Permission.CLAIMS_AUDIT):
                ui.button("确认违规", on_click=lambda: self.act("confirm")).props(
                    'data-testid="audit-confirm"'
                )
                ui.button("剔除", color="secondary", on_click=lambda: self.act("dismiss")).props(
                    'data-testid="audit-dismiss"'
                )
            if data["may_appeal"]:
                ui.button("科室申诉", color="accent", on_click=lambda: self.act("appeal")).props(
                    'data-testid="audit-appeal"'
                )
            elif self.actor.has(Permission.CLAIMS_APPEAL) and data["status"] in ("open", "confirmed"):
                ui.label("非本科室疑点，不能申诉").classes("text-grey-7 text-sm self-center").props(
                    'data-testid="audit-not-own"'
                )
            ui.button("关闭", on_click=self.dialog.close).props("flat")


@ui.page("/audit/precheck")
def precheck_page(request: Request) -> RedirectResponse | None:
    """The doctor-facing warning panel (事前提醒): enter an order, see the rules it breaks."""
    actor = guard(request, Permission.CLAIMS_PRECHECK)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.CLAIMS_PRECHECK):
        return None
    with frame(actor, "事前审核提醒"):
        ui.label("开医嘱前检查医保规则：填写患者与本次就诊信息及拟开项目，系统即时提示违规风险。").classes(
            "text-grey-7 text-sm"
        )
        _PrecheckForm(actor)
    return None


class _PrecheckForm:
    """The visit (sex, age, scheme, level, setting, diagnosis), the items to order, and the warnings."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.row().classes("items-end gap-4"):
            self.sex = (
                ui.select({"M": "男", "F": "女"}, value="F", label="性别")
                .classes("w-20")
                .props('data-testid="pre-sex"')
            )
            self.age = ui.number("年龄", value=40, min=0, max=150, format="%d").classes("w-20")
            self.scheme = ui.select(
                {"employee": "职工医保", "resident": "居民医保", "self_pay": "自费"},
                value="employee",
                label="险种",
            ).classes("w-28")
            self.level = ui.select({3: "三级", 2: "二级", 1: "一级"}, value=3, label="机构等级").classes(
                "w-24"
            )
            self.setting = ui.select(
                {"outpatient": "门诊", "inpatient": "住院"}, value="outpatient", label="就医方式"
            ).classes("w-24")
            self.diagnosis = (
                ui.input("主要诊断编码", value="J06.9").classes("w-36").props('data-testid="pre-dx"')
            )
        self.items = (
            ui.textarea("拟开项目（每行：项目编码 数量 [单价（元）]）", value="250101001 1")
            .classes("w-full")
            .props('rows=4 data-testid="pre-items"')
        )
        self.panel = ui.column().classes("w-full gap-2").props('data-testid="pre-panel"')
        ui.button("检查", icon="search", on_click=self.check).props('data-testid="pre-check"')

    def _lines(self) -> list[ClaimLine] | None:
        """The typed items as claim lines of today, or None (with a notice) at the first bad line."""
        today = business_date()
        with unit_of_work() as session:
            library = service.active_library(session)
        lines: list[ClaimLine] = []
        for n, raw in enumerate((self.items.value or "").splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            try:
                qty = int(parts[1]) if len(parts) > 1 else 1
                price = parse_yuan(parts[2]) if len(parts) > 2 else service.catalogue_price(library, parts[0])
                if qty < 1 or price < 0:
                    raise ValueError
            except ValueError:  # MoneyFormatError is one
                ui.notify(f"第 {n} 行格式不正确", type="negative")
                return None
            lines.append(
                ClaimLine(
                    n,
                    "ORDER",
                    "P",
                    str(self.sex.value),
                    int(self.age.value or 0),
                    str(self.scheme.value),
                    int(self.level.value),
                    str(self.setting.value),
                    (self.diagnosis.value or "").strip(),
                    today,
                    today,
                    today,
                    parts[0],
                    qty,
                    price,
                    qty * price,
                )
            )
        return lines

    def check(self) -> None:
        self.panel.clear()
        lines = self._lines()
        if lines is None:
            return
        try:
            with unit_of_work() as session:
                views = service.precheck_for(session, self.actor, lines, stage=Stage.PRE)
        except YilianError as exc:
            show_error(exc)
            return
        with self.panel:
            if not views:
                ui.label("未发现医保违规风险").classes("text-positive text-h6").props('data-testid="pre-ok"')
            for v in views:
                color = "red-1" if v.severity == "violation" else "orange-1"
                with ui.card().classes(f"w-full bg-{color}").props('data-testid="pre-warning"'):
                    ui.label(f"【{v.severity_label}】{v.rule_id} {v.family_label}").classes("text-subtitle1")
                    ui.label(v.text)
                    ui.label(f"涉及第 {', '.join(map(str, v.lines))} 行，金额 {yuan(v.amount)} 元").classes(
                        "text-sm text-grey-8"
                    )
