"""Pages of the pharmacy: the pharmacist's review queue (审方), the dispensing window (发药窗口) and the
window's call screen (叫号屏)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.record_schemas import ReviewSubject
from yilian.pharmacy import service
from yilian.pharmacy.domain import WindowStatus
from yilian.pharmacy.service import Label, WindowRow
from yilian.web import nav
from yilian.web.components import LiveBox
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        label="处方审核",
        path="/pharmacy/review",
        icon="fact_check",
        group="药房",
        permission=Permission.PRESCRIPTION_REVIEW,
        order=40,
        description="前置审方：系统提示 + 药师审核，通过或退回医生；为无药师的医共体成员审方",
    )
)
nav.register(
    nav.NavItem(
        label="发药窗口",
        path="/pharmacy/window",
        icon="medication_liquid",
        group="药房",
        permission=Permission.PHARMACY_DISPENSE,
        order=41,
        description="叫号、双人核对发药（按效期先出）、用药标签、退药",
    )
)
nav.register(
    nav.NavItem(
        label="取药叫号屏",
        path="/pharmacy/screen",
        icon="tv",
        group="药房",
        permission=Permission.PHARMACY_DISPENSE,
        order=42,
        description="候药大厅的叫号屏",
    )
)
PREGNANCY = {"pregnant": "妊娠期", "lactating": "哺乳期"}


def review_card(s: ReviewSubject, decide: Callable[[int, str, str], None]) -> None:
    """One prescription to review: who (what review needs only), the drugs, the system's findings."""
    p = s.prescription
    with ui.card().classes("w-full").style(f"background:{p.colour}").props('data-testid="review-card"'):
        with ui.row().classes("items-center gap-3 w-full"):
            ui.label(f"{p.kind_label} #{p.id}").classes("text-subtitle1 font-medium")
            ui.label(s.institution_name).classes("text-sm text-grey-8")
            ui.label(f"开方：{p.doctor_name}").classes("text-sm")
            ui.space()
            ui.label(f"合计 {yuan(p.total)}").classes("text-sm")
        facts = [f"{s.patient_name}", {"1": "男", "2": "女"}.get(s.sex, ""), f"{s.age_years}岁"]
        if s.weight_kg:
            facts.append(f"{s.weight_kg}kg")
        if s.pregnancy in PREGNANCY:
            facts.append(PREGNANCY[s.pregnancy])
        ui.label(" · ".join(x for x in facts if x)).classes("text-sm")
        ui.label(
            f"过敏史：{'、'.join(s.allergies) or '无'}    诊断：{'；'.join(s.diagnoses) or '—'}"
        ).classes("text-sm")
        for x in p.lines:
            if x.order_status != OrderStatus.CANCELLED:
                text = f"{x.name}  {x.dose.normalize()}{x.dose_unit} {x.frequency_label} {x.route_label}"
                ui.label(f"{text} ×{x.days}天，共{x.quantity}{x.unit}").classes("text-sm font-medium")
        for f in p.findings:
            with ui.row().classes("items-center gap-2").props('data-testid="review-finding"'):
                ui.badge(
                    "严重" if f.severity == "serious" else "提示",
                    color="negative" if f.severity == "serious" else "warning",
                )
                ui.label(f.message).classes("text-sm")
        if p.doctor_note:
            ui.label(f"医生用药理由：{p.doctor_note}").classes("text-sm text-primary")
        with ui.row().classes("items-end gap-2"):
            reason = ui.input("退回理由").props('outlined dense data-testid="review-reason"').classes("w-80")
            ui.button("退回医生", on_click=lambda: decide(p.id, "return", reason.value or "")).props(
                'outline color=negative data-testid="review-return"'
            )
            ui.button("审核通过", on_click=lambda: decide(p.id, "pass", "")).props(
                'color=positive data-testid="review-pass"'
            )


@ui.page("/pharmacy/review")
def review_page(request: Request) -> RedirectResponse | None:
    """The pharmacist's review queue, oldest first, refreshed every ten seconds."""
    actor = guard(request, Permission.PRESCRIPTION_REVIEW)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PRESCRIPTION_REVIEW):
        return None

    def load() -> list[ReviewSubject]:
        with unit_of_work() as session:
            return service.review_queue(session, actor)

    def render(queue: list[ReviewSubject]) -> None:
        if not queue:
            ui.label("没有待审处方").classes("text-grey-7").props('data-testid="review-empty"')
        for s in queue:
            review_card(s, decide)

    def decide(prescription_id: int, verdict: str, reason: str) -> None:
        try:
            with unit_of_work() as session:
                service.decide(session, actor, prescription_id, verdict, reason)
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("已通过" if verdict == "pass" else "已退回医生", type="positive")
        live.draw()

    with frame(actor, "处方审核"):
        live = LiveBox(load, render, every=10)
    live.draw()
    return None


def label_dialog(labels: list[Label]) -> None:
    """The drug labels of a dispensed prescription (用药标签)."""
    with ui.dialog() as dialog, ui.card().classes("w-[30rem]"):
        ui.label("用药标签").classes("text-h6")
        for x in labels:
            with ui.card().classes("w-full").props('flat bordered data-testid="drug-label"'):
                ui.label(f"{x.patient}  {x.name} ×{x.quantity}").classes("font-medium")
                ui.label(x.instructions).classes("text-lg")
                ui.label(x.batches).classes("text-xs text-grey-7")
        ui.button("关闭", on_click=dialog.close).props("flat")
    dialog.open()


class WindowDesk:
    """The window's queue with call, dispense (second check) and labels."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.row().classes("items-end gap-2"):
            self.window = ui.number("窗口", value=1, min=1, max=20).props("outlined dense").classes("w-20")
            self.checker = ui.input("核对药师（用户名）").props('outlined dense data-testid="window-checker"')
        self.live = LiveBox(self.load, self.render, every=10, classes="w-full gap-2")
        self.host = ui.element("div")  # dialogs outlive the redrawn rows

    def load(self) -> list[WindowRow]:
        with unit_of_work() as session:
            return service.window_queue(session, self.actor)

    def render(self, rows: list[WindowRow]) -> None:
        if not rows:
            ui.label("没有待发药的处方").classes("text-grey-7")
        for r in rows:
            self.row(r)

    def draw(self) -> None:
        self.live.draw()

    def row(self, r: WindowRow) -> None:
        status = {"waiting": "待叫号", "called": f"已叫号（{r.window}号窗口）", "dispensed": "已发药"}[
            r.status
        ]
        with (
            ui.row()
            .classes("items-center gap-3 w-full")
            .props(f'data-testid="window-row-{r.prescription_id}"')
        ):
            ui.label(f"#{r.prescription_id} {r.patient}").classes("font-medium")
            ui.label(r.kind_label).classes("text-sm")
            ui.label(r.drugs).classes("text-sm")
            ui.label(status if r.paid else "未缴费").classes("text-sm text-primary")
            if r.status != WindowStatus.DISPENSED and r.paid:
                ui.button("叫号", on_click=lambda: self.act("call", r.prescription_id)).props(
                    'outline dense data-testid="window-call"'
                )
                ui.button("核对发药", on_click=lambda: self.act("dispense", r.prescription_id)).props(
                    'dense color=positive data-testid="window-dispense"'
                )
            if r.status == WindowStatus.DISPENSED:
                ui.button("标签", on_click=lambda: self.act("labels", r.prescription_id)).props(
                    'flat dense data-testid="window-labels"'
                )

    def act(self, what: str, prescription_id: int) -> None:
        window = int(self.window.value or 1)
        try:
            with unit_of_work() as session:
                if what == "call":
                    service.call(session, self.actor, prescription_id, window)
                elif what == "dispense":
                    service.dispense(
                        session, self.actor, prescription_id, checker=self.checker.value or "", window=window
                    )
                labels = service.labels(session, self.actor, prescription_id) if what != "call" else []
        except YilianError as exc:
            show_error(exc)
            return
        self.draw()
        if labels:
            with self.host:
                label_dialog(labels)


@ui.page("/pharmacy/window")
def window_page(request: Request) -> RedirectResponse | None:
    """The dispensing window: reviewed prescriptions, paid or on credit, called and dispensed."""
    actor = guard(request, Permission.PHARMACY_DISPENSE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PHARMACY_DISPENSE):
        return None
    with frame(actor, "发药窗口"):
        desk = WindowDesk(actor)
    desk.draw()
    return None


@ui.page("/pharmacy/screen")
def screen_page(request: Request) -> RedirectResponse | None:
    """The call screen of the pharmacy's waiting hall: called patients (masked) and their windows."""
    actor = guard(request, Permission.PHARMACY_DISPENSE)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.PHARMACY_DISPENSE) or actor.institution_id is None:
        return None
    institution_id = actor.institution_id
    ui.page_title("取药叫号 - 医联")
    with (
        ui.column()
        .classes("w-full items-center q-pa-xl gap-4 text-white min-h-screen")
        .style("background:#0f6e8c")
    ):
        ui.label("请以下患者到窗口取药").classes("text-h3")

        def load() -> list[tuple[int, str, str]]:
            with unit_of_work() as session:
                return service.call_screen(session, institution_id)

        def render(calls: list[tuple[int, str, str]]) -> None:
            for window, name, _status in calls:
                call = ui.label(f"{name}  请到 {window} 号窗口").classes("text-h4")
                call.props('data-testid="screen-call"')

        LiveBox(load, render, every=3, classes="items-center gap-2").draw()
    return None


from yilian.pharmacy import decoction_pages  # noqa: E402, F401  (the shared TCM pharmacy's pages)
