"""The hall's self-service machine (自助机): a patient types (or the card reader fills in) the resident
ID number, sees today's registrations at this hospital, masked, and checks in (自助签到). The machine is
logged in as a device account (role 自助机, permission ``kiosk:check_in`` only); the screen clears
itself after each patient."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.scheduling import service
from yilian.scheduling.domain import PERIOD_LABELS
from yilian.scheduling.pages.common import GROUP, Names
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard

CLEAR_AFTER_SECONDS = 30.0

nav.register(
    nav.NavItem(
        "自助签到",
        "/scheduling/kiosk",
        "touch_app",
        GROUP,
        Permission.KIOSK_CHECK_IN,
        order=29,
        description="门诊大厅自助机：刷身份证号签到候诊",
    )
)


@ui.page("/scheduling/kiosk")
def kiosk_page(request: Request) -> RedirectResponse | None:
    actor = guard(request, Permission.KIOSK_CHECK_IN)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.KIOSK_CHECK_IN):
        return None
    with frame(actor, "自助签到"):
        _Kiosk(actor)
    return None


class _Kiosk:
    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.column().classes("w-full max-w-2xl gap-4"):
            ui.label("请输入身份证号（或在读卡器上刷身份证）").classes("text-h6")
            with ui.row().classes("items-start gap-3 w-full no-wrap"):  # the button beside the input
                self.id_number = (
                    ui.input(
                        "身份证号", validation={"请输入 18 位身份证号": lambda v: len(v or "") in (0, 18)}
                    )
                    .props('outlined clearable data-testid="kiosk-id" input-class="text-h6"')
                    .classes("flex-1 min-w-0")
                )
                self.id_number.on("keydown.enter", self.lookup)
                ui.button("查询", on_click=self.lookup).props('size=lg data-testid="kiosk-lookup"').classes(
                    "self-start q-mt-xs"
                )
            self.result = ui.column().classes("w-full gap-3").props('data-testid="kiosk-result"')
        self.timer = ui.timer(CLEAR_AFTER_SECONDS, self.clear, active=False)

    def clear(self) -> None:
        self.timer.deactivate()
        self.id_number.set_value("")
        self.result.clear()

    def lookup(self) -> None:
        self.result.clear()
        self.timer.activate()
        try:
            with unit_of_work() as session:
                rows = service.kiosk_bookings(session, self.actor, self.id_number.value or "")
                names = Names(session)
                lines = [
                    (
                        r,
                        f"{names.department(r.department_id)} {names.doctor(r.practitioner_id)} "
                        f"{PERIOD_LABELS.get(r.period, r.period)} {r.start:%H:%M}",
                    )
                    for r in rows
                ]
        except YilianError as exc:
            with self.result:
                ui.label(f"{exc.title}：{exc.detail}" if exc.detail else exc.title).classes(
                    "text-h6 text-negative"
                )
            return
        with self.result:
            if not lines:
                ui.label("今日在本院没有待签到的挂号，请到挂号窗口办理").classes("text-h6 text-grey-8")
            for row, text in lines:
                with ui.card().classes("w-full").props(f'data-testid="kiosk-booking-{row.booking_id}"'):
                    ui.label(f"{row.masked_name} · {text}").classes("text-h6")
                    ui.label(f"就诊地点：{row.location or '见分诊台指引'}").classes("text-grey-8")
                    if row.ticket_no is not None:
                        ui.label(f"已签到，候诊号 {row.ticket_no} 号").classes("text-h6 text-positive")
                    else:
                        ui.button("签到", on_click=lambda _e, i=row.booking_id: self.check_in(i)).props(
                            f'size=lg color=positive data-testid="kiosk-checkin-{row.booking_id}"'
                        )

    def check_in(self, booking_id: int) -> None:
        try:
            with unit_of_work() as session:
                entry = service.check_in(session, self.actor, booking_id)
                ticket, where = entry.ticket_no, service.get_schedule(session, entry.schedule_id).location
        except YilianError as exc:
            ui.notify(f"{exc.title}：{exc.detail}" if exc.detail else exc.title, type="negative")
            return
        self.id_number.set_value("")  # a public screen: the ID number goes at once
        self.result.clear()
        with self.result:
            ui.label(f"签到成功，您的候诊号是 {ticket} 号").classes("text-h4 text-positive").props(
                'data-testid="kiosk-done"'
            )
            ui.label(f"请到 {where or '诊区'} 候诊，留意叫号屏").classes("text-h6")
        self.timer.activate()
