"""Pages of the results area: the repeat-order prompt inside order entry (开单互认提示), one-click look-up
(一键查询), a patient's result timeline, institution qualification admin and recognition statistics."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import BUSINESS_TZ, business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.masking import mask_id_number
from yilian.kit.money import yuan
from yilian.registry import service as registry
from yilian.results import service
from yilian.results.domain import Decision, ItemKind, NonRecognitionReason, ResultStatus
from yilian.web import nav
from yilian.web.shell import cards_on_phone, frame, guard, show_error

GROUP = "检查检验互认"
for _item in (
    nav.NavItem(
        "开单互认提示",
        "/results/order",
        "fact_check",
        GROUP,
        Permission.RESULTS_RECOGNIZE,
        order=40,
        description="开立检验检查时提示可互认的既往结果",
    ),
    nav.NavItem(
        "一键查询",
        "/results/lookup",
        "manage_search",
        GROUP,
        Permission.RESULTS_READ,
        order=41,
        description="查询患者在医联体各机构的检查检验结果",
    ),
    nav.NavItem(
        "互认统计",
        "/results/stats",
        "insights",
        GROUP,
        Permission.RESULTS_STATS,
        order=42,
        description="提醒次数、互认率、节省费用",
    ),
    nav.NavItem(
        "机构互认资质",
        "/results/qualifications",
        "verified",
        GROUP,
        Permission.RESULTS_QUALIFY,
        order=43,
        description="HR 标识、室间质评、分级互认矩阵",
    ),
):
    nav.register(_item)

STATUS_LABELS = {s.value: s.label for s in ResultStatus}


def _local(dt: Any) -> str:
    return str(dt.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M"))


def _patient_picker(actor: Actor, on_pick: Any, *, prefix: str) -> None:
    """A search box and a list of the patients the actor may see; ``on_pick(id, name)`` on choice."""
    with ui.row().classes("items-end gap-2"):
        query = (
            ui.input("患者姓名 / 拼音首字母 / 身份证号 / 主索引号")
            .classes("w-80")
            .props(f'data-testid="{prefix}-patient-query"')
        )
        found = ui.column().classes("gap-1")

        def search() -> None:
            found.clear()
            try:
                with unit_of_work() as session:
                    rows, _ = registry.search_patients(session, actor, q=query.value or "", limit=10)
                    people = [(p.id, p.name, p.mpi_id, mask_id_number(p.id_number)) for p in rows]
            except YilianError as exc:
                show_error(exc)
                return
            with found:
                if not people:
                    ui.label("未找到患者").classes("text-grey-7")
                for pid, name, mpi, masked in people:
                    ui.button(
                        f"{name}  {mpi}  {masked}", on_click=lambda _e, p=pid, n=name: on_pick(p, n)
                    ).props(f'flat no-caps align=left data-testid="{prefix}-patient"')

        ui.button("查找", on_click=search).props(f'data-testid="{prefix}-find"')
        query.on("keydown.enter", lambda _e: search())


# ---------------------------------------------------------------- order entry prompt


@ui.page("/results/order")
def order_page(request: Request) -> RedirectResponse | None:
    """Order entry for a lab or imaging item: the recognition prompt, then 互认 or 不互认."""
    actor = guard(request, Permission.RESULTS_RECOGNIZE)
    if isinstance(actor, RedirectResponse):
        return actor
    with unit_of_work() as session:
        items = {
            i.code: f"{i.name}（{ItemKind(i.kind).label}，¥{yuan(i.price_fen, symbol=False)}）"
            for i in service.list_items(session)
        }
        department_id = None
        if actor.practitioner_id is not None:
            reads = registry.practitioner_reads(
                session, [registry.get_practitioner(session, actor.practitioner_id)]
            )
            department_id = reads[0].primary_department_id
    with frame(actor, "开单互认提示"):
        if actor.institution_id is None:
            ui.label("当前账号不属于任何机构，无法开单。").classes("text-negative")
            return None
        _OrderEntry(actor, items, department_id)
    return None


# A recognisable result as the prompt shows it: id, institution, value, unit, time, why, valid until.
Candidate = tuple[int, str, str, str, str, list[str], str]


class _OrderEntry:
    """Pick a patient and an item; when the alliance holds a recognisable result, the prompt asks the
    doctor to recognise it (no new order) or to give the reasons for not recognising it."""

    def __init__(self, actor: Actor, items: dict[str, str], department_id: int | None) -> None:
        self.actor = actor
        self.department_id = department_id
        self.patient_id: int | None = None
        self.chosen = ui.label("尚未选择患者").classes("text-subtitle1").props('data-testid="order-chosen"')
        _patient_picker(actor, self.pick, prefix="order")
        with ui.row().classes("items-end gap-2"):
            self.item = (
                ui.select(items, label="开立项目", with_input=True)
                .classes("w-96")
                .props('data-testid="order-item"')
            )
            ui.button("开立", icon="add_task", on_click=self.place).props('data-testid="order-place"')
        self.message = ui.label("").classes("text-body1").props('data-testid="order-message"')
        self.prompt = ui.column().classes("w-full gap-2")

    def pick(self, pid: int, name: str) -> None:
        self.patient_id = pid
        self.chosen.set_text(f"当前患者：{name}")
        self.prompt.clear()

    def place(self) -> None:
        if self.patient_id is None or not self.item.value:
            ui.notify("请先选择患者和项目", type="warning")
            return
        try:
            with unit_of_work() as session:
                outcome = service.check_recognition(
                    session,
                    self.actor,
                    patient_id=self.patient_id,
                    institution_id=self.actor.institution_id or 0,
                    department_id=self.department_id,
                    practitioner_id=self.actor.practitioner_id,
                    item_code=self.item.value,
                )
                views: list[Candidate] = [
                    (
                        c.result.id,
                        c.institution_name,
                        c.result.value_text or c.result.report_text[:40],
                        c.result.unit,
                        _local(c.result.observed_at),
                        list(c.assessment.why),
                        c.assessment.valid_until.isoformat(),
                    )
                    for c in outcome.candidates
                ]
                rejected = [
                    (c.institution_name, _local(c.result.observed_at), "；".join(c.assessment.why_not))
                    for c in outcome.rejected
                ]
                self.name, price, self.prompt_id = (
                    outcome.item.name,
                    outcome.item.price_fen,
                    outcome.prompt_id,
                )
        except YilianError as exc:
            show_error(exc)
            return
        self.prompt.clear()
        if not views:
            self.message.set_text(f"{self.name}：医联体内无可互认的结果，请在门诊医嘱中正常开立。")
            _rejected_list(self.prompt, rejected)
            return
        self.message.set_text(
            f"重复开单提醒：{self.name} 有 {len(views)} 条可互认结果（费用 ¥{yuan(price, symbol=False)}）"
        )
        with self.prompt, ui.card().classes("w-full max-w-4xl").props('data-testid="order-prompt"'):
            self._candidates(views)
            _rejected_list(self.prompt, rejected)
            self._decision()

    def _candidates(self, views: list[Candidate]) -> None:
        ui.label("以下结果可互认（由近及远）").classes("text-subtitle1 text-primary")
        self.pick_result = ui.radio(
            {v[0]: f"{v[1]}  {v[4]}  {v[2]} {v[3]}" for v in views}, value=views[0][0]
        )
        self.pick_result.props('data-testid="order-candidates"')
        for v in views:
            ui.label(f"{v[1]} · {v[4]}：" + "；".join(v[5]) + f"（有效至 {v[6]}）").classes(
                "text-caption text-grey-8"
            )

    def _decision(self) -> None:
        self.reasons = (
            ui.select(
                {r.value: r.label for r in NonRecognitionReason},
                multiple=True,
                label="不互认理由（至少一项）",
            )
            .classes("w-96")
            .props('data-testid="order-reasons"')
        )
        self.note = (
            ui.input("补充说明（≤200 字）")
            .props('maxlength=200 counter data-testid="order-note"')
            .classes("w-96")
        )
        with ui.row().classes("gap-2"):
            ui.button(
                "互认（不再开单）", icon="check_circle", on_click=lambda: self.decide(Decision.RECOGNISED)
            ).props('color=positive data-testid="order-recognise"')
            ui.button("不互认", icon="block", on_click=lambda: self.decide(Decision.NOT_RECOGNISED)).props(
                'color=negative outline data-testid="order-refuse"'
            )

    def decide(self, decision: Decision) -> None:
        try:
            with unit_of_work() as session:
                row = service.decide(
                    session,
                    self.actor,
                    prompt_id=self.prompt_id or 0,
                    decision=decision,
                    result_id=self.pick_result.value if decision is Decision.RECOGNISED else None,
                    reasons=[NonRecognitionReason(r) for r in (self.reasons.value or [])]
                    if decision is Decision.NOT_RECOGNISED
                    else [],
                    note=self.note.value or "",
                )
                saved = row.fee_saved_fen
        except YilianError as exc:
            show_error(exc)
            return
        self.prompt.clear()
        if decision is Decision.RECOGNISED:
            self.message.set_text(f"已互认：{self.name} 未开单，节省费用 ¥{yuan(saved, symbol=False)}")
        else:
            self.message.set_text(f"已记录不互认：请在门诊医嘱中开立 {self.name}")


def _rejected_list(container: ui.column, rejected: list[tuple[str, str, str]]) -> None:
    if not rejected:
        return
    with container, ui.expansion(f"有效期内但不可互认的结果（{len(rejected)}）").classes("w-full max-w-4xl"):
        for inst, when, why in rejected:
            ui.label(f"{inst} · {when}：{why}").classes("text-caption text-grey-8")


# ---------------------------------------------------------------- one-click look-up and timeline


@ui.page("/results/lookup")
def lookup_page(request: Request, patient_id: int | None = None) -> RedirectResponse | None:
    """One-click look-up (一键查询): all of a patient's results across the alliance."""
    actor = guard(request, Permission.RESULTS_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "一键查询（医联体检查检验结果）"):
        results_box = ui.column().classes("w-full")

        def show(pid: int, name: str = "") -> None:
            results_box.clear()
            try:
                with unit_of_work() as session:
                    rows, total = service.patient_results(session, actor, pid, limit=200, reason="一键查询")
                    names = service.institution_names(session)
                    items = {i.code: i.name for i in service.list_items(session)}
                    table = [
                        {
                            "id": r.id,
                            "when": _local(r.observed_at),
                            "institution": names.get(r.institution_id, ""),
                            "item": items.get(r.item_code, r.item_code),
                            "code": r.item_code,
                            "value": (r.value_text + " " + r.unit).strip()
                            if r.kind == "lab"
                            else r.report_text[:60],
                            "range": r.reference_range,
                            "flag": r.abnormal_flag,
                            "status": STATUS_LABELS.get(r.status, r.status),
                        }
                        for r in rows
                    ]
            except YilianError as exc:
                show_error(exc)
                return
            with results_box:
                ui.label(f"{name} 共 {total} 条结果（显示最近 {len(table)} 条）").classes("text-subtitle1")
                columns = [
                    {"name": k, "label": label, "field": k, "align": "left", "sortable": True}
                    for k, label in (
                        ("when", "时间"),
                        ("institution", "机构"),
                        ("item", "项目"),
                        ("value", "结果"),
                        ("range", "参考范围"),
                        ("flag", "标志"),
                        ("status", "状态"),
                    )
                ]
                cards_on_phone(
                    ui.table(columns=columns, rows=table, row_key="id", pagination=20)
                    .classes("w-full")
                    .props('dense data-testid="lookup-results"')
                )
                codes = sorted({t["code"] for t in table if t["code"] in items})
                if codes:
                    with ui.row().classes("gap-2"):
                        ui.label("结果趋势：")
                        for code in codes[:12]:
                            ui.link(items[code], f"/results/timeline?patient_id={pid}&item={code}")

        if actor.role is Role.PATIENT and actor.patient_id:
            show(actor.patient_id)
        elif actor.role is Role.FAMILY:
            with unit_of_work() as session:
                people = [(p.id, p.name) for p in registry.my_patients(session, actor)]
            with ui.row().classes("gap-2"):
                for pid, name in people:
                    ui.button(name, on_click=lambda _e, p=pid, n=name: show(p, n)).props("outline")
            if not people:
                ui.label("暂无家人授权您查看档案").classes("text-grey-7")
        else:
            _patient_picker(actor, show, prefix="lookup")
            if patient_id:
                show(patient_id)
    return None


@ui.page("/results/timeline")
def timeline_page(request: Request, patient_id: int, item: str = "GLU") -> RedirectResponse | None:
    """A lab value over time across institutions, one series per institution."""
    actor = guard(request, Permission.RESULTS_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "结果趋势"):
        try:
            with unit_of_work() as session:
                rows = service.timeline(session, actor, patient_id, item)
                names = service.institution_names(session)
                catalogue = service.get_item(session, item)
                label = f"{catalogue.name}（{catalogue.unit}）"
                points = [(_local(r.observed_at), r.value_num, names.get(r.institution_id, "")) for r in rows]
        except YilianError as exc:
            show_error(exc)
            return None
        series: dict[str, list[list[Any]]] = {}
        for when, value, inst in points:
            if value is not None:
                series.setdefault(inst, []).append([when, value])
        if not series:
            ui.label("没有可绘制的数值结果").classes("text-grey-7")
            return None
        ui.echart(
            {
                "animation": False,
                "title": {"text": label, "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"},
                "legend": {"top": 0, "right": 10},
                "xAxis": {"type": "time"},
                "yAxis": {"type": "value", "scale": True},
                "series": [
                    {"name": k, "type": "line", "symbolSize": 8, "data": v} for k, v in series.items()
                ],
            }
        ).classes("w-full h-96").props('data-testid="timeline-chart"')
    return None


# ---------------------------------------------------------------- statistics


@ui.page("/results/stats")
def stats_page(request: Request, days: int = 30) -> RedirectResponse | None:
    """Recognition indicators by institution, department and item, with charts."""
    actor = guard(request, Permission.RESULTS_STATS)
    if isinstance(actor, RedirectResponse):
        return actor
    until = business_date()
    since = until - timedelta(days=max(days, 1) - 1)
    with frame(actor, "互认统计"):
        try:
            with unit_of_work() as session:
                data = {
                    g: service.indicators(session, actor, group=g, since=since, until=until)
                    for g in ("institution", "department", "item")
                }
        except YilianError as exc:
            show_error(exc)
            return None
        totals = data["institution"]["totals"]
        ui.label(f"统计区间 {since.isoformat()} 至 {until.isoformat()}").classes("text-grey-7")
        with ui.row().classes("gap-4"):
            for label, value, testid in (
                ("重复开单提醒", f"{totals['prompts']} 次", "stats-prompts"),
                ("互认", f"{totals['recognised']} 次", "stats-recognised"),
                ("互认率", f"{totals['recognition_rate'] * 100:.1f}%", "stats-rate"),
                ("节省费用", f"¥{yuan(int(totals['fee_saved_fen']), symbol=False)}", "stats-saved"),
            ):
                with ui.card().classes("w-44"):
                    ui.label(label).classes("text-caption text-grey-7")
                    ui.label(value).classes("text-h6").props(f'data-testid="{testid}"')
        for group, title in (("institution", "按机构"), ("department", "按科室"), ("item", "按项目")):
            rows = data[group]["rows"]
            ui.label(title).classes("text-subtitle1 q-mt-md")
            if rows:
                _stats_chart(rows, title)
            ui.table(
                columns=[
                    {"name": k, "label": lab, "field": k, "align": "left"}
                    for k, lab in (
                        ("name", "名称"),
                        ("prompts", "提醒"),
                        ("recognised", "互认"),
                        ("not_recognised", "不互认"),
                        ("rate", "互认率"),
                        ("saved", "节省费用（元）"),
                    )
                ],
                rows=[
                    {
                        "name": r["name"],
                        "prompts": r["prompts"],
                        "recognised": r["recognised"],
                        "not_recognised": r["not_recognised"],
                        "rate": f"{r['recognition_rate'] * 100:.1f}%",
                        "saved": yuan(r["fee_saved_fen"], symbol=False),
                    }
                    for r in rows
                ],
                row_key="name",
            ).classes("w-full max-w-4xl").props(f'dense data-testid="stats-{group}"')
        if data["item"]["reasons"]:
            ui.label("不互认理由").classes("text-subtitle1 q-mt-md")
            ui.echart(
                {
                    "animation": False,
                    "tooltip": {"trigger": "item"},
                    "series": [
                        {
                            "type": "pie",
                            "radius": "60%",
                            "data": [
                                {"name": r["label"], "value": r["count"]} for r in data["item"]["reasons"]
                            ],
                        }
                    ],
                }
            ).classes("w-full max-w-xl h-72")
    return None


def _stats_chart(rows: list[dict[str, Any]], title: str) -> None:
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0, "right": 10},
            "grid": {"top": 40, "bottom": 60},
            "xAxis": {"type": "category", "data": [r["name"] for r in rows], "axisLabel": {"rotate": 20}},
            "yAxis": [{"type": "value", "name": "次数"}, {"type": "value", "name": "元"}],
            "series": [
                {"name": "提醒", "type": "bar", "data": [r["prompts"] for r in rows]},
                {"name": "互认", "type": "bar", "data": [r["recognised"] for r in rows]},
                {
                    "name": "节省费用",
                    "type": "line",
                    "yAxisIndex": 1,
                    "data": [r["fee_saved_fen"] / 100 for r in rows],
                },
            ],
        }
    ).classes("w-full max-w-4xl h-72").props(f'data-testid="chart-{title}"')


# ---------------------------------------------------------------- qualification admin


@ui.page("/results/qualifications")
def qualifications_page(request: Request) -> RedirectResponse | None:
    """HR marks, external quality assessment (室间质评) per discipline, and the recognition policy."""
    actor = guard(request, Permission.RESULTS_QUALIFY)
    if isinstance(actor, RedirectResponse):
        return actor
    with frame(actor, "机构互认资质"):
        _Qualifications(actor, ui.column().classes("w-full gap-2")).draw()
    return None


class _Qualifications:
    """The recognition policy, then one card per institution: its HR mark and its 室间质评 records."""

    def __init__(self, actor: Actor, body: ui.column) -> None:
        self.actor = actor
        self.body = body

    def draw(self) -> None:
        self.body.clear()
        with unit_of_work() as session:
            rows = service.qualification_overview(session)
            policy = service.get_policy(session)
        today = business_date()
        with self.body:
            ui.label(
                "互认政策：二级乙等及以下互认、二级甲等及以上互认、下级认可上级；"
                + ("同一医联体内全部互认；" if policy.same_alliance_recognised else "")
                + ("三级医院可认可质评合格的下级结果。" if policy.tier3_accepts_lower_with_qa else "")
            ).classes("text-grey-8")
            for r in rows:
                self._card(r, today)

    def _card(self, r: dict[str, Any], today: date) -> None:
        with ui.card().classes("w-full max-w-5xl").props('data-testid="qual-row"'):
            with ui.row().classes("items-center gap-4"):
                ui.label(r["name"]).classes("text-subtitle1")
                ui.badge(r["rank_label"])
                ui.badge(r["tier_label"], color="secondary")
                ui.switch(
                    "HR 互认标识",
                    value=r["hr_mark"],
                    on_change=lambda e, iid=r["institution_id"]: self.set_hr(iid, bool(e.value)),
                )
            for q in r["qa"]:
                state = "有效" if q["valid_today"] else ("未通过" if not q["passed"] else "已过期")
                color = "text-positive" if q["valid_today"] else "text-negative"
                ui.label(
                    f"室间质评 · {q['discipline']}：{q['passed_on']} 通过，至 {q['expires_on']}（{state}）"
                ).classes(f"text-caption {color}")
            with ui.row().classes("items-end gap-2"):
                disc = ui.select(
                    ["临床化学", "临床免疫", "临床血液", "临床微生物"], value="临床化学", label="专业"
                ).classes("w-32")
                passed_on = ui.input("通过日期", value=today.isoformat()).classes("w-32")
                expires_on = ui.input("有效期至", value=(today + timedelta(days=365)).isoformat()).classes(
                    "w-32"
                )
                ui.button(
                    "登记质评",
                    on_click=lambda _e, iid=r["institution_id"]: self.set_qa(
                        iid, disc.value, passed_on.value, expires_on.value
                    ),
                ).props("outline dense")

    def set_hr(self, institution_id: int, value: bool) -> None:
        try:
            with unit_of_work() as session:
                service.set_hr_mark(session, self.actor, institution_id, value)
            ui.notify("已更新 HR 标识", type="positive")
        except YilianError as exc:
            show_error(exc)

    def set_qa(self, institution_id: int, discipline: str, passed_on: str, expires_on: str) -> None:
        try:
            p, x = date.fromisoformat(passed_on), date.fromisoformat(expires_on)
        except ValueError:
            ui.notify("日期格式应为 YYYY-MM-DD", type="warning")
            return
        try:
            with unit_of_work() as session:
                service.set_qa(
                    session,
                    self.actor,
                    institution_id=institution_id,
                    discipline=discipline,
                    passed=True,
                    passed_on=p,
                    expires_on=x,
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已登记室间质评", type="positive")
        self.draw()
