"""Pages of the shared TCM pharmacy (共享中药房): the clinic doctor's herbal prescription form with live
review warnings, the review desk, the decoction floor board (live, by state and machine, for a wall
screen), the floor station (steps, QC, dispatch, labels with a QR code) and the patient's phone page."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta

import qrcode
from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.catalog import herb_service
from yilian.catalog.herb_domain import FormulaClass, Herb
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import BUSINESS_TZ, business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient import herbal_service as herbal
from yilian.outpatient import service as outpatient
from yilian.outpatient.herbal_domain import MAIN_LINE, HerbalState
from yilian.outpatient.herbal_service import HerbalInput, LineInput
from yilian.pharmacy import decoction_indicators as stats
from yilian.pharmacy import decoction_service as tcm
from yilian.registry import service as registry
from yilian.web import nav
from yilian.web.components import LiveBox
from yilian.web.shell import allowed, frame, guard, show_error

for item in (
    (
        "中药处方",
        "/tcm/prescribe",
        "local_florist",
        Permission.ENCOUNTER_WRITE,
        45,
        "开中药处方（代煎 / 膏方），实时审方提示",
    ),
    (
        "中药审方",
        "/tcm/review",
        "rule",
        Permission.PRESCRIPTION_REVIEW,
        46,
        "共享中药房集中审方：通过、退回、医生双签",
    ),
    (
        "煎药工作站",
        "/tcm/station",
        "science",
        Permission.PRESCRIPTION_REVIEW,
        47,
        "调配、复核、泡药、煎药、包装、质检、配送",
    ),
    ("煎药看板", "/tcm/board", "dashboard", Permission.PRESCRIPTION_REVIEW, 48, "煎药中心大屏"),
    (
        "中药房指标",
        "/tcm/indicators",
        "insights",
        Permission.PRESCRIPTION_REVIEW,
        50,
        "准时率、周转、退回、返工报废、煎药机利用率",
    ),
    (
        "药袋交接",
        "/tcm/scan",
        "qr_code_scanner",
        Permission.ORDER_PERFORM,
        49,
        "扫药袋标签：中药房交配送员、接收机构入站、交患者签收",
    ),
):
    nav.register(
        nav.NavItem(
            label=item[0],
            path=item[1],
            icon=item[2],
            group="共享中药房",
            permission=item[3],
            order=item[4],
            description=item[5],
        )
    )


def _time(at: object) -> str:
    return at.astimezone(BUSINESS_TZ).strftime("%m-%d %H:%M") if isinstance(at, datetime) else "—"


def qr_data_uri(text: str) -> str:
    image = qrcode.make(text, box_size=4, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# ---------------------------------------------------------------- the doctor's form


class HerbalForm:
    """Lines of herbs with grams, the prescription's settings, and the live review warnings."""

    def __init__(
        self, actor: Actor, herbs: list[Herb], encounter_id: int | None, revise_id: int | None
    ) -> None:
        self.actor, self.herbs, self.encounter_id, self.revise_id = actor, herbs, encounter_id, revise_id
        self.by_label = {
            f"{h.name}{'（' + h.handling.value + '）' if h.handling.value else ''}": h for h in herbs
        }
        self.lines: list[tuple[str, int]] = []  # (code, grams)
        with ui.row().classes("items-end gap-2"):
            self.herb = (
                ui.select(list(self.by_label), label="饮片", with_input=True)
                .props('outlined dense data-testid="tcm-herb"')
                .classes("w-56")
            )
            self.grams = (
                ui.number("克数", value=10, format="%d")
                .props('outlined dense data-testid="tcm-grams"')
                .classes("w-24")
            )
            ui.button("加入", on_click=self.add).props('color=primary data-testid="tcm-add"')
        self.table = ui.column().classes("gap-1").props('data-testid="tcm-lines"')
        with ui.row().classes("items-end gap-3"):
            self.kind = (
                ui.select(["汤剂", "膏方"], value="汤剂", label="类别", on_change=self.check)
                .props("outlined dense")
                .classes("w-28")
            )
            self.formula = (
                ui.select([f.value for f in FormulaClass], value="一般", label="方剂类别")
                .props('outlined dense data-testid="tcm-formula"')
                .classes("w-28")
            )
            self.doses = (
                ui.number("剂数", value=7, format="%d")
                .props('outlined dense data-testid="tcm-doses"')
                .classes("w-20")
            )
            self.decoct = ui.checkbox("代煎", value=True).props('data-testid="tcm-decoct"')
            self.bag_ml = (
                ui.number("每袋 ml", value=200, format="%d")
                .props('outlined dense data-testid="tcm-bag"')
                .classes("w-24")
            )
            self.bags = ui.number("每剂袋数", value=2, format="%d").props("outlined dense").classes("w-24")
            self.child = ui.checkbox("儿童", on_change=self.check)
            self.pregnant = ui.checkbox("孕妇", on_change=self.check).props('data-testid="tcm-pregnant"')
        self.instructions = (
            ui.input("用法", value="每日 1 剂，早晚饭后温服").props("outlined dense").classes("w-96")
        )
        self.warnings = ui.column().classes("gap-1").props('data-testid="tcm-warnings"')
        ui.button("提交审方" if revise_id is None else "修改后重新提交", on_click=self.submit).props(
            'color=positive data-testid="tcm-submit"'
        )

    def body(self) -> HerbalInput:
        return HerbalInput(
            lines=[LineInput(c, g) for c, g in self.lines],
            doses=int(self.doses.value or 0),
            kind=str(self.kind.value),
            formula_class=str(self.formula.value),
            decoct=bool(self.decoct.value),
            bag_ml=int(self.bag_ml.value or 0),
            bags_per_dose=int(self.bags.value or 0),
            child=bool(self.child.value),
            pregnant=bool(self.pregnant.value),
            instructions=str(self.instructions.value or ""),
        )

    def add(self) -> None:
        herb = self.by_label.get(str(self.herb.value or ""))
        if herb is None:
            ui.notify("请选择饮片", type="warning")
            return
        self.lines.append((herb.code, int(self.grams.value or 0)))
        self.draw()

    def remove(self, index: int) -> None:
        del self.lines[index]
        self.draw()

    def draw(self) -> None:
        names = {h.code: h for h in self.herbs}
        self.table.clear()
        with self.table:
            for i, (code, grams) in enumerate(self.lines):
                h = names[code]
                with ui.row().classes("items-center gap-2").props('data-testid="tcm-line"'):
                    ui.label(f"{h.name} {grams} g").classes("font-medium")
                    if h.handling.value:
                        ui.badge(h.handling.value, color="teal")
                    ui.button(icon="close", on_click=lambda i=i: self.remove(i)).props(
                        "flat dense round size=sm"
                    )
        self.check()

    def check(self) -> None:
        self.warnings.clear()
        if not self.lines:
            return
        try:
            with unit_of_work() as session:
                found = tcm.findings_of(session, self.body())
        except YilianError as exc:
            show_error(exc)
            return
        with self.warnings:
            for f in found:
                with ui.row().classes("items-center gap-2").props('data-testid="tcm-warning"'):
                    ui.badge(str(f["severity"]), color="negative" if f["severity"] == "禁忌" else "warning")
                    ui.label(str(f["message"]))

    def submit(self) -> None:
        try:
            with unit_of_work() as session:
                if self.revise_id is not None:
                    p = tcm.revise(session, self.actor, self.revise_id, self.body())
                    refusals: list[str] = []
                elif self.encounter_id is None:
                    ui.notify("当前没有进行中的就诊，请先在医生工作站接诊", type="warning")
                    return
                else:
                    p, refusals = tcm.prescribe(session, self.actor, self.encounter_id, self.body())
                pid, amount, status = p.id, p.amount, p.status
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(
            f"中药处方 #{pid} 已提交（{status}），合计 {yuan(amount)}"
            + ("；" + "；".join(refusals) if refusals else ""),
            type="positive",
        )
        ui.navigate.to("/tcm/prescribe")


@ui.page("/tcm/prescribe")
def prescribe_page(
    request: Request, encounter: int | None = None, revise: int | None = None
) -> RedirectResponse | None:
    actor = guard(request, Permission.ENCOUNTER_WRITE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.ENCOUNTER_WRITE):
        return None
    with unit_of_work() as session:
        herbs = herb_service.list_herbs(session)
        current = outpatient.open_encounter_of_doctor(session, actor, business_date())
        encounter_id = encounter or (current.id if current else None)
        mine = [
            p
            for p in herbal.in_states(session, [actor.institution_id or 0], list(HerbalState))
            if p.doctor_id == actor.user_id
        ][-10:]
        returned = herbal.get(session, revise) if revise else None
    with frame(actor, "中药处方"):
        ui.label(f"就诊 #{encounter_id}" if encounter_id else "当前没有进行中的就诊").classes(
            "text-subtitle1"
        ).props('data-testid="tcm-encounter"')
        if returned is not None:
            ui.label(f"修改退回的处方 #{returned.id}：{returned.review_reason}").classes("text-negative")
        form = HerbalForm(actor, herbs, encounter_id, revise)
        if returned is not None:
            with unit_of_work() as session:
                form.lines = [(x.herb_code, x.grams) for x in herbal.lines_of(session, returned.id)]
            form.doses.value = returned.doses
            form.draw()
        ui.separator()
        ui.label("我开的中药处方").classes("text-subtitle1")
        for p in reversed(mine):
            with ui.row().classes("items-center gap-3").props(f'data-testid="tcm-mine-{p.id}"'):
                ui.label(f"#{p.id} {p.kind} {p.doses} 剂  {yuan(p.amount)}")
                ui.badge(p.status, color="negative" if p.status == "已退回" else "primary")
                if p.status == "已退回":
                    ui.label(f"退回原因：{p.review_reason}").classes("text-negative text-sm")
                    ui.button(
                        "修改", on_click=lambda p=p: ui.navigate.to(f"/tcm/prescribe?revise={p.id}")
                    ).props('dense outline data-testid="tcm-fix"')
    return None


# ---------------------------------------------------------------- the review desk


@ui.page("/tcm/review")
def review_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.PRESCRIPTION_REVIEW)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PRESCRIPTION_REVIEW):
        return None

    def load() -> list[tuple[herbal.HerbalPrescription, list[herbal.HerbalLine], str]]:
        with unit_of_work() as session:
            desk = tcm.review_desk(session, actor)
            return [
                (p, herbal.lines_of(session, p.id), registry.get_institution(session, p.institution_id).name)
                for p in desk
            ]

    def render(desk: list[tuple[herbal.HerbalPrescription, list[herbal.HerbalLine], str]]) -> None:
        if not desk:
            ui.label("没有待审的中药处方").classes("text-grey-7").props('data-testid="tcm-review-empty"')
        for p, lines, clinic in desk:
            card(p, lines, clinic, decide)

    def decide(pid: int, verdict: str, reason: str, cosigner: str = "") -> None:
        try:
            with unit_of_work() as session:
                tcm.decide(session, actor, pid, verdict, reason=reason, cosigner=cosigner)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(
            {"approve": "审方通过", "return": "已退回医生", "override": "医生双签通过"}[verdict],
            type="positive",
        )
        live.draw()

    with frame(actor, "中药审方"):
        # the rows are database objects: their id and version say whether the desk changed
        live = LiveBox(
            load, render, every=10, key=lambda desk: [(p.id, p.version, p.status) for p, _, _ in desk]
        )
    live.draw()
    return None


def card(
    p: herbal.HerbalPrescription, lines: list[herbal.HerbalLine], clinic: str, decide: Callable[..., None]
) -> None:
    with ui.card().classes("w-full").props(f'data-testid="tcm-review-card-{p.id}"'):
        with ui.row().classes("items-center gap-3"):
            ui.label(f"{p.kind} #{p.id}（第 {p.version} 版）").classes("text-subtitle1 font-medium")
            ui.label(clinic).classes("text-sm text-grey-8")
            ui.label(f"开方：{p.doctor_name}").classes("text-sm")
            ui.label(
                f"{p.formula_class}类 · {p.doses} 剂 · {'代煎' if p.decoct else '饮片'}"
                + (" · 孕妇" if p.pregnant else "")
                + (" · 儿童" if p.child else "")
            ).classes("text-sm")
        ui.label(
            "　".join(
                f"{x.herb_name}{x.grams}g{('(' + x.handling + ')') if x.handling else ''}" for x in lines
            )
        )
        for f in p.findings:
            with ui.row().classes("items-center gap-2").props('data-testid="tcm-review-finding"'):
                ui.badge(str(f["severity"]), color="negative" if f["severity"] == "禁忌" else "warning")
                ui.label(str(f["message"]))
        with ui.row().classes("items-end gap-2"):
            reason = ui.input("理由").props('outlined dense data-testid="tcm-review-reason"').classes("w-72")
            cosigner = ui.input("双签医生（用户名）").props("outlined dense").classes("w-40")
            ui.button("退回医生", on_click=lambda: decide(p.id, "return", reason.value or "")).props(
                'outline color=negative data-testid="tcm-review-return"'
            )
            ui.button(
                "双签通过",
                on_click=lambda: decide(p.id, "override", reason.value or "", cosigner.value or ""),
            ).props("outline color=warning")
            ui.button("审方通过", on_click=lambda: decide(p.id, "approve", "")).props(
                'color=positive data-testid="tcm-review-approve"'
            )


# ---------------------------------------------------------------- the floor station and the board

NEXT = {
    HerbalState.TO_DISPENSE.value: [("dispense", "调配完成")],
    HerbalState.TO_CHECK.value: [("check", "复核通过")],
    HerbalState.TO_SOAK.value: [("soak", "开始泡药")],
    HerbalState.SOAKING.value: [("decoct", "上机煎药")],
    HerbalState.TO_DECOCT.value: [("decoct", "上机煎药")],
    HerbalState.DECOCTING.value: [("add_rest", "下其余药"), ("add_late", "加后下药"), ("finish", "煎药完成")],
    HerbalState.TO_PACK.value: [("pack", "包装完成")],
    HerbalState.TO_LABEL.value: [("label", "贴标完成")],
    HerbalState.TO_QC.value: [("qc_pass", "质检合格"), ("qc_rework", "返工重煎"), ("qc_scrap", "报废")],
}  # 待配送 → 配送中 → 已签收 are recorded by scanning the bag's label (/tcm/scan)


@ui.page("/tcm/station")
def station_page(request: Request) -> RedirectResponse | None:
    """The decoction station (煎药工作站): each prescription's next steps, its label, refreshed every 10 s."""
    actor = guard(request, Permission.PRESCRIPTION_REVIEW)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PRESCRIPTION_REVIEW):
        return None
    with frame(actor, "煎药工作站"):
        station = _Station(actor, str(request.base_url).rstrip("/"))
    station.draw()
    return None


class _Station:
    """The station's step inputs (machine, volume, QC reason, courier), the board of prescriptions with
    their next steps, and the label dialog."""

    def __init__(self, actor: Actor, base_url: str) -> None:
        self.actor = actor
        self.base_url = base_url
        with ui.row().classes("items-end gap-2"):
            self.machine = (
                ui.input("煎药机编号", value="JY-01")
                .props('outlined dense data-testid="tcm-machine"')
                .classes("w-32")
            )
            self.volume = (
                ui.number("煎出量 ml/剂", value=400, format="%d")
                .props('outlined dense data-testid="tcm-volume"')
                .classes("w-32")
            )
            self.reason = (
                ui.input("原因（质检不合格）")
                .props('outlined dense data-testid="tcm-qc-reason"')
                .classes("w-56")
            )
            self.courier = (
                ui.input("配送员", value="顺丰 李师傅")
                .props('outlined dense data-testid="tcm-courier"')
                .classes("w-40")
            )
        self.live = LiveBox(self.load, self.render, every=10, classes="w-full gap-2")
        self.host = ui.element("div")

    def act(self, pid: int, action: str) -> None:
        try:
            with unit_of_work() as session:
                p = herbal.get(session, pid)
                tcm.step(
                    session,
                    self.actor,
                    pid,
                    tcm.StepInput(
                        action,
                        machine=str(self.machine.value or ""),
                        volume_ml=int(self.volume.value or 0),
                        reason=str(self.reason.value or ""),
                        courier=str(self.courier.value or ""),
                        token=p.track_token,
                    ),
                )
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已记录", type="positive")
        self.draw()

    def show_label(self, pid: int) -> None:
        try:
            with unit_of_work() as session:
                lab = tcm.label(session, self.actor, pid, base_url=self.base_url)
        except YilianError as exc:
            show_error(exc)
            return
        with (
            self.host,
            ui.dialog() as dialog,
            ui.card().classes("w-[26rem]").props('data-testid="tcm-label"'),
        ):
            with ui.row().classes("items-start gap-4 no-wrap"):
                ui.image(qr_data_uri(lab.qr_text)).classes("w-32 h-32")
                with ui.column().classes("gap-1"):
                    ui.label(f"{lab.patient}  处方 #{lab.prescription_id}").classes("text-lg font-medium")
                    ui.label(lab.clinic).classes("text-sm")
                    ui.label(f"{lab.doses} 剂 · 共 {lab.bags} 袋 · 每袋 {lab.bag_ml} ml")
                    ui.label(lab.usage).classes("font-medium")
            ui.label("扫码查看煎药进度与签收").classes("text-xs text-grey-7")
            ui.button("关闭", on_click=dialog.close).props("flat")
        dialog.open()

    def load(self) -> list[tcm.BoardCard]:
        with unit_of_work() as session:
            return tcm.board(session, self.actor)

    def render(self, cards: list[tcm.BoardCard]) -> None:
        if not cards:
            ui.label("煎药中心暂无处方").classes("text-grey-7")
        for c in cards:
            self._row(c)

    def draw(self) -> None:
        self.live.draw()

    def _row(self, c: tcm.BoardCard) -> None:
        with ui.row().classes("items-center gap-3 w-full").props(f'data-testid="tcm-row-{c.id}"'):
            ui.label(f"#{c.id} {c.patient}").classes("font-medium w-28")
            ui.label(c.clinic).classes("text-sm w-40")
            ui.badge(c.state + (f" · {c.machine}" if c.machine else ""), color="primary").props(
                'data-testid="tcm-state"'
            )
            ui.label(f"承诺 {_time(c.promised_at)}").classes("text-xs text-grey-7")
            for action, text in NEXT.get(c.state, []):
                ui.button(text, on_click=lambda c=c, a=action: self.act(c.id, a)).props(
                    f'dense outline data-testid="tcm-do-{action}"'
                )
            if c.state in (HerbalState.TO_DELIVER.value, HerbalState.DELIVERING.value):
                ui.button("扫码交接", on_click=lambda: ui.navigate.to("/tcm/scan")).props(
                    'flat dense data-testid="tcm-go-scan"'
                )
            if c.state in (HerbalState.TO_LABEL.value, HerbalState.TO_QC.value, HerbalState.TO_DELIVER.value):
                ui.button("标签", on_click=lambda c=c: self.show_label(c.id)).props(
                    'flat dense data-testid="tcm-show-label"'
                )


@ui.page("/tcm/board")
def board_page(request: Request) -> RedirectResponse | None:
    """The wall screen: a column per state, a tile per prescription, and the machines."""
    actor = guard(request, Permission.PRESCRIPTION_REVIEW)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PRESCRIPTION_REVIEW) or actor.institution_id is None:
        return None
    institution_id = actor.institution_id
    ui.page_title("煎药看板 - 医联")
    with ui.column().classes("w-full q-pa-md gap-3 text-white min-h-screen").style("background:#12343b"):
        ui.label("共享中药房 · 煎药中心").classes("text-h4")
        machines_row = ui.row().classes("gap-2 flex-wrap")
        columns = ui.row().classes("gap-2 w-full items-start")  # wraps on a phone, one line on a wall

    def draw() -> None:
        with unit_of_work() as session:
            cards = tcm.board(session, actor)
            machines = tcm.machines(session, institution_id)
            plan = tcm.day_plan(session, actor)
        machines_row.clear()
        with machines_row:
            for m in machines:
                busy = m.prescription_id is not None
                ui.label(f"{m.code} {'#' + str(m.prescription_id) if busy else '空闲'}").classes(
                    "q-px-sm rounded " + ("bg-orange-8" if busy else "bg-green-8")
                ).props(f'data-testid="tcm-machine-{m.code}"')
            ui.label(f"今日排程准时率 {plan.on_time_share:.0%}，预警 {len(plan.late)} 张").classes("q-ml-md")
        columns.clear()
        with columns:
            for state in MAIN_LINE[1:-1]:
                mine = [c for c in cards if c.state == state.value]
                with (
                    ui.column()
                    .classes("gap-1 rounded q-pa-xs")
                    .style("background:#1d4f5a;min-width:6.4rem;flex:1")
                ):
                    ui.label(f"{state.value} {len(mine)}").classes("text-subtitle2")
                    for c in mine:
                        ui.label(f"#{c.id} {c.patient}{' ' + c.machine if c.machine else ''}").classes(
                            "text-xs bg-white text-black rounded q-px-xs"
                        ).props(f'data-testid="tcm-tile-{c.id}"')

    draw()
    ui.timer(3, draw)
    return None


# ---------------------------------------------------------------- hand-over by scanning the bag


@ui.page("/tcm/scan")
def scan_page(request: Request) -> RedirectResponse | None:
    """Scan (or type) the bag's label code: the pharmacy hands it to a courier, the receiving clinic takes
    it in and hands it to the patient; the bag's trace shows who did what, where and when."""
    actor = guard(request, Permission.ORDER_PERFORM)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.ORDER_PERFORM):
        return None
    with frame(actor, "药袋交接"):
        _ScanDesk(actor)
    return None


class _ScanDesk:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.column().classes("w-full max-w-md gap-2"):
            self.code = (
                ui.input("药袋标签码", placeholder="扫描药袋二维码或输入标签码")
                .props('outlined dense autofocus clearable data-testid="scan-code"')
                .classes("w-full")
                .on("keydown.enter", self.look)
            )
            self.courier = ui.input("配送员（交配送员时填写）").props(
                'outlined dense data-testid="scan-courier"'
            )
            self.courier.classes("w-full")
            ui.button("查看药袋", on_click=self.look).props('data-testid="scan-look"')
            self.box = ui.column().classes("w-full gap-2").props('data-testid="scan-bag"')

    def look(self) -> None:
        try:
            with unit_of_work() as session:
                bag = tcm.scan_bag(session, self.actor, str(self.code.value or ""))
        except YilianError as exc:
            show_error(exc)
            return
        self.draw(bag)

    def record(self, action: str) -> None:
        try:
            with unit_of_work() as session:
                code = str(self.code.value or "")
                tcm.scan(session, self.actor, code, action, courier=str(self.courier.value or ""))
                bag = tcm.scan_bag(session, self.actor, code)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"已{tcm.SCAN_LABELS[action]}", type="positive")
        self.draw(bag)

    def draw(self, bag: tcm.Bag) -> None:
        self.box.clear()
        with self.box, ui.card().classes("w-full"):
            ui.label(f"处方 #{bag.prescription_id} · {bag.patient}").classes("text-subtitle1")
            ui.label(f"{bag.clinic} · {bag.doses} 剂 {bag.bags} 袋").classes("text-caption text-grey-7")
            ui.badge(bag.state, color="primary").props('data-testid="scan-state"')
            if bag.courier:
                ui.label(f"配送员：{bag.courier}").classes("text-caption")
            with ui.row().classes("gap-2"):
                for action in bag.actions:
                    ui.button(tcm.SCAN_LABELS[action], on_click=lambda a=action: self.record(a)).props(
                        f'data-testid="scan-do-{action}"'
                    )
                if not bag.actions:
                    ui.label("本岗位当前无需交接").classes("text-grey-7")
            with ui.column().classes("gap-0 w-full").props('data-testid="scan-trace"'):
                for state, at, who, note in bag.steps[-6:]:
                    ui.label(f"{_time(at)} {state} · {who} {note}").classes("text-caption")


# ---------------------------------------------------------------- indicators


@ui.page("/tcm/indicators")
def indicators_page(request: Request) -> RedirectResponse | None:
    """The pharmacy's indicators for a date range: by clinic and month, charts, Excel export."""
    actor = guard(request, Permission.PRESCRIPTION_REVIEW)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PRESCRIPTION_REVIEW):
        return None
    today = business_date()
    with frame(actor, "中药房指标"):
        with ui.row().classes("items-end gap-2"):
            start = ui.input("开始日期", value=(today - timedelta(days=29)).isoformat()).classes("w-36")
            start.props('data-testid="ind-start"')
            end = ui.input("结束日期", value=today.isoformat()).classes("w-36").props('data-testid="ind-end"')
            ui.button("查询", on_click=lambda: body.refresh()).props('data-testid="ind-query"')
            export = ui.link("导出 Excel", "#").props('data-testid="ind-export"')

        @ui.refreshable
        def body() -> None:
            try:
                first, last = date.fromisoformat(str(start.value)), date.fromisoformat(str(end.value))
                with unit_of_work() as session:
                    ind = stats.indicators(session, actor, first, last)
            except (ValueError, YilianError) as exc:
                ui.label(getattr(exc, "detail", None) or "请输入正确的日期（如 2026-11-01）").classes(
                    "text-negative"
                )
                return
            export.props(f'href="/api/v1/tcm/indicators.xlsx?start={first}&end={last}"')
            _indicator_table(ind)
            _indicator_charts(ind)

        body()
    return None


def _pct(v: float | None) -> str:
    return f"{v:.1%}" if v is not None else "—"


def _indicator_table(ind: stats.Indicators) -> None:
    columns = [
        {"name": k, "label": h, "field": k, "align": "left"}
        for k, h in zip(stats.KEYS, stats.HEADERS, strict=True)
    ]
    data = []
    for r in ind.rows:
        row = dict(zip(stats.KEYS, stats.row_cells(r), strict=True))
        for k, v in (
            ("return_rate", r.return_rate),
            ("on_time_rate", r.on_time_rate),
            ("rework_rate", r.rework_rate),
            ("scrap_rate", r.scrap_rate),
        ):
            row[k] = _pct(v)
        data.append(row)
    ui.table(columns=columns, rows=data, row_key="institution").classes("w-full").props(
        'dense flat bordered wrap-cells data-testid="ind-table"'
    )


def _indicator_charts(ind: stats.Indicators) -> None:
    days = sorted({d for d, _c, _n in ind.daily})
    clinics = sorted({c for _d, c, _n in ind.daily})
    counts = {(d, c): n for d, c, n in ind.daily}
    months = [r for r in ind.rows if r.institution == stats.TOTAL and r.month != stats.TOTAL]
    with ui.row().classes("w-full gap-4"):
        ui.echart(
            {
                "title": {"text": "每日处方量（按开方机构）", "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0, "type": "scroll"},
                "xAxis": {"type": "category", "data": [f"{d:%m-%d}" for d in days]},
                "yAxis": {"type": "value", "minInterval": 1},
                "series": [
                    {"name": c, "type": "bar", "stack": "rx", "data": [counts.get((d, c), 0) for d in days]}
                    for c in clinics
                ],
            }
        ).classes("w-full md:w-[48%] h-72").props('data-testid="ind-chart-daily"')
        ui.echart(
            {
                "title": {"text": "准时率与返工率（按月）", "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "xAxis": {"type": "category", "data": [r.month for r in months]},
                "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
                "series": [
                    {
                        "name": "准时率",
                        "type": "bar",
                        "data": [round(100 * (r.on_time_rate or 0), 1) for r in months],
                    },
                    {
                        "name": "返工率",
                        "type": "bar",
                        "data": [round(100 * (r.rework_rate or 0), 1) for r in months],
                    },
                ],
            }
        ).classes("w-full md:w-[48%] h-72").props('data-testid="ind-chart-monthly"')
        ui.echart(
            {
                "title": {"text": "审方退回（按规则）", "textStyle": {"fontSize": 14}},
                "tooltip": {},
                "xAxis": {"type": "value", "minInterval": 1},
                "yAxis": {"type": "category", "data": [r for r, _n in ind.returns_by_rule]},
                "series": [{"type": "bar", "data": [n for _r, n in ind.returns_by_rule]}],
            }
        ).classes("w-full md:w-[48%] h-64").props('data-testid="ind-chart-returns"')
        ui.echart(
            {
                "title": {
                    "text": f"煎药机利用率（每日 {stats.SHIFT_HOURS} 小时班次）",
                    "textStyle": {"fontSize": 14},
                },
                "tooltip": {},
                "xAxis": {"type": "category", "data": [m.code for m in ind.machines]},
                "yAxis": {"type": "value", "axisLabel": {"formatter": "{value}%"}},
                "series": [{"type": "bar", "data": [round(100 * m.utilisation, 1) for m in ind.machines]}],
            }
        ).classes("w-full md:w-[48%] h-64").props('data-testid="ind-chart-machines"')


# ---------------------------------------------------------------- the patient's phone page


@ui.page("/tcm/track/{token}")
def track_page(token: str) -> None:
    """Open by scanning the bag's QR code (the token is the credential; the name is masked)."""
    ui.page_title("煎药进度 - 医联")
    ui.add_head_html('<meta name="viewport" content="width=device-width, initial-scale=1">')
    try:
        with unit_of_work() as session:
            t = tcm.track(session, token)
    except YilianError as exc:
        ui.label(exc.title).classes("text-h6 q-pa-md")
        return
    reached = {s for s, _at, _n in t.steps}
    times: dict[str, object] = {}
    for s, at, _n in t.steps:
        times[s] = at
    with ui.column().classes("w-full q-pa-md gap-2").style("max-width:420px"):
        ui.label(f"{t.patient} 的{t.kind}（{t.doses} 剂）").classes("text-h6")
        ui.label(t.clinic).classes("text-sm text-grey-7")
        ui.label(f"当前：{t.state}").classes("text-subtitle1 text-primary").props('data-testid="track-state"')
        if t.promised_at:
            ui.label(f"承诺送达：{_time(t.promised_at)}").classes("text-sm")
        for state in MAIN_LINE:
            done = state.value in reached
            with (
                ui.row()
                .classes("items-center gap-2")
                .props(f'data-testid="track-step{"-done" if done else ""}"')
            ):
                ui.icon(
                    "check_circle" if done else "radio_button_unchecked", color="positive" if done else "grey"
                )
                ui.label(state.value).classes("font-medium" if done else "text-grey-6")
                if done:
                    ui.label(_time(times[state.value])).classes("text-xs text-grey-7")
        _delivery(token, t)


def _delivery(token: str, t: tcm.Tracking) -> None:
    """The bag's hand-overs (courier, receiving clinic, sign-off) and, at her door, her confirmation."""
    handovers = [(at, note) for _s, at, note in t.steps if note.startswith("扫码")]
    if handovers:
        ui.label("配送记录").classes("text-subtitle2 q-mt-sm")
        for at, note in handovers:
            ui.label(f"{_time(at)} {note}").classes("text-xs").props('data-testid="track-handover"')
    if t.can_sign:

        def sign() -> None:
            try:
                with unit_of_work() as session:
                    tcm.sign_by_patient(session, token)
            except YilianError as exc:
                show_error(exc)
                return
            ui.navigate.reload()

        ui.button("确认收到药袋（签收）", on_click=sign).props('data-testid="track-sign"').classes("w-full")
