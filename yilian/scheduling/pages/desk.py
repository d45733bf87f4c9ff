"""The registration desk (挂号处): find a patient, see the bookings, walk-in registration (现场挂号) on
today's clinics, check-in (签到) and free return visits under a registration (一号管三天复诊)."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.registry import service as registry
from yilian.scheduling import service
from yilian.scheduling.domain import BookingStatus
from yilian.scheduling.models import Booking
from yilian.scheduling.pages.common import GROUP, Names, booking_lines, day_label, slot_label
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        "挂号处",
        "/scheduling/desk",
        "how_to_reg",
        GROUP,
        Permission.REGISTRATION_DESK,
        order=31,  # after 医生叫号 (30): the menu groups neighbouring entries
        description="查找患者，现场挂号、签到候诊、一号管三天复诊",
    )
)


@ui.page("/scheduling/desk")
def desk_page(request: Request) -> RedirectResponse | None:
    """The registrar's desk."""
    actor = guard(request, Permission.REGISTRATION_DESK)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.REGISTRATION_DESK):
        return None
    with unit_of_work() as session:
        names = Names(session)
        if actor.institution_id is not None:
            hospitals = {actor.institution_id: names.institution(actor.institution_id)}
        else:
            hospitals = {i: names.institution(i) for i in service.bookable_institution_ids(session)}
    with frame(actor, "挂号处"):
        _Desk(actor, hospitals)
    return None


class _Desk:
    def __init__(self, actor: Actor, hospitals: dict[int, str]) -> None:
        self.actor = actor
        self.methods = service.payment_methods()
        self.patient_id: int | None = None
        today = business_date()
        with ui.row().classes("items-end gap-2 w-full"):
            self.hospital = (
                ui.select(
                    hospitals, label="机构", value=next(iter(hospitals), None), on_change=self.load_today
                )
                .props('outlined dense data-testid="desk-institution"')
                .classes("w-72")
            )
            ui.label(f"今日 {day_label(today)}").classes("text-grey-8")
        with ui.row().classes("items-end gap-2 w-full"):
            self.query = (
                ui.input("患者姓名 / 拼音首字母 / 身份证号（或前几位）/ 手机号")
                .props('outlined dense data-testid="desk-patient-query"')
                .classes("w-80")
            )
            self.query.on("keydown.enter", self.find)
            ui.button("查找", on_click=self.find).props('data-testid="desk-find"')
            self.patient = (
                ui.select({}, label="患者", on_change=self.on_patient)
                .props('outlined dense data-testid="desk-patient"')
                .classes("w-96")
            )
            self.groups = (
                ui.select([], label="优先就诊群体（签到时登记）", multiple=True)
                .props('outlined dense use-chips data-testid="desk-priority-groups"')
                .classes("w-72")
            )
        self.message = ui.label("").classes("text-subtitle1").props('data-testid="desk-message"')
        with ui.row().classes("w-full gap-4 items-start no-wrap"):
            with ui.column().classes("flex-1 gap-2"):
                ui.label("患者预约与挂号").classes("text-h6 text-grey-9")
                self.bookings = ui.column().classes("w-full gap-2").props('data-testid="desk-bookings"')
            with ui.card().classes("w-[26rem] gap-2"):
                ui.label("现场挂号（今日）").classes("text-h6 text-grey-9")
                self.walk_schedule = (
                    ui.select({}, label="门诊", on_change=self.on_walk_schedule)
                    .props('outlined dense data-testid="desk-walkin-schedule"')
                    .classes("w-full")
                )
                self.walk_slot = (
                    ui.select({}, label="时段")
                    .props('outlined dense data-testid="desk-walkin-slot"')
                    .classes("w-full")
                )
                self.walk_method = (
                    ui.select(
                        self.methods, label="缴费方式", value="desk" if "desk" in self.methods else None
                    )
                    .props('outlined dense data-testid="desk-walkin-method"')
                    .classes("w-full")
                )
                self.walk_fee = ui.label("").classes("text-grey-8")
                ui.button("挂号并收费", on_click=self.walk_in).props('data-testid="desk-walkin"').classes(
                    "w-full"
                )
        self.load_today()

    def say(self, text: str, ok: bool = True) -> None:
        self.message.set_text(text)
        self.message.classes(replace="text-subtitle1 " + ("text-positive" if ok else "text-negative"))

    # -- patients ----------------------------------------------------------------------------------

    def find(self) -> None:
        try:
            with unit_of_work() as session:
                rows, total = registry.search_patients(
                    session, self.actor, q=self.query.value or "", limit=20
                )
                options = {}
                for p in rows:
                    s = registry.patient_summary(p)
                    options[p.id] = f"{s.name} {s.sex_label} {s.age}岁 {s.id_number_masked}"
        except YilianError as exc:
            show_error(exc)
            return
        self.patient.set_options(options, value=next(iter(options), None))
        if not options:
            self.say("未找到患者", ok=False)

    def on_patient(self) -> None:
        self.patient_id = int(self.patient.value) if self.patient.value else None
        self.say("")
        self.refresh()

    def refresh(self) -> None:
        self.bookings.clear()
        if self.patient_id is None:
            return
        today = business_date()
        try:
            with unit_of_work() as session:
                views = service.patient_bookings(session, self.actor, self.patient_id)
                names = Names(session)
                targets: dict[int, dict[int, str]] = {}
                refusals: dict[int, str] = {}
                for v in views:
                    b = v.booking
                    if b.status != BookingStatus.CONFIRMED or not b.qualifies_three_day or b.day >= today:
                        continue
                    refusal = service.return_refusal(session, b, today)
                    if refusal is not None:
                        refusals[b.id] = refusal
                        continue
                    targets[b.id] = {
                        s.id: names.schedule(s)
                        for s in service.return_visit_targets(session, self.actor, b.id)
                    }
                with self.bookings:
                    if not views:
                        ui.label("该患者暂无预约或挂号").classes("text-grey-7")
                    for v in views:
                        with (
                            ui.card()
                            .classes("w-full gap-1")
                            .props(f'data-testid="desk-booking-{v.booking.id}"')
                        ):
                            booking_lines(v, names, self.methods)
                            self._actions(v.booking, v.ticket_no, targets.get(v.booking.id), today)
                            if v.booking.id in refusals:
                                ui.label(f"今日不能免费复诊：{refusals[v.booking.id]}").classes(
                                    "text-grey-7 text-sm"
                                ).props(f'data-testid="desk-no-return-{v.booking.id}"')
        except YilianError as exc:
            show_error(exc)

    def _actions(
        self, b: Booking, ticket_no: int | None, targets: dict[int, str] | None, today: date
    ) -> None:
        with ui.row().classes("items-center gap-2 w-full"):
            if b.status == BookingStatus.HELD:
                ui.button("收费确认", on_click=lambda _e, i=b.id: self.confirm(i)).props(
                    f'dense data-testid="desk-confirm-{b.id}"'
                )
            if b.status == BookingStatus.CONFIRMED and b.day == today and ticket_no is None:
                ui.button("签到", on_click=lambda _e, i=b.id: self.check_in(i)).props(
                    f'dense data-testid="desk-checkin-{b.id}"'
                )
            if (
                b.status in (BookingStatus.HELD, BookingStatus.CONFIRMED)
                and ticket_no is None
                and b.day >= today
            ):
                ui.button("取消", on_click=lambda _e, i=b.id: self.cancel(i)).props(
                    f'dense outline color=negative data-testid="desk-cancel-{b.id}"'
                )
        if targets is not None:
            with ui.row().classes("items-end gap-2 w-full"):
                target = (
                    ui.select(targets, label="复诊挂入今日门诊", value=next(iter(targets), None))
                    .props(f'outlined dense data-testid="desk-return-schedule-{b.id}"')
                    .classes("flex-1")
                )
                ui.button(
                    "复诊（一号管三天）", on_click=lambda _e, i=b.id, t=target: self.return_visit(i, t.value)
                ).props(f'dense color=secondary data-testid="desk-return-{b.id}"')
            if not targets:
                ui.label("该科室今日无开诊排班").classes("text-grey-7 text-sm")

    # -- actions -----------------------------------------------------------------------------------

    def confirm(self, booking_id: int) -> None:
        try:
            with unit_of_work() as session:
                b = service.confirm(session, self.actor, booking_id, payment_method="desk")
                fee = b.fee_fen
        except YilianError as exc:
            show_error(exc)
            return
        self.say(f"已收挂号费 {yuan(fee)}，挂号成功")
        self.refresh()

    def check_in(self, booking_id: int) -> None:
        try:
            with unit_of_work() as session:
                entry = service.check_in(
                    session, self.actor, booking_id, groups=list(self.groups.value or [])
                )
                ticket, priority = entry.ticket_no, entry.priority
        except YilianError as exc:
            show_error(exc)
            return
        self.groups.set_value([])
        self.say(f"签到成功，候诊号 {ticket} 号" + ("（优先就诊）" if priority else ""))
        self.refresh()

    def cancel(self, booking_id: int) -> None:
        try:
            with unit_of_work() as session:
                b = service.cancel(session, self.actor, booking_id)
                refund = b.fee_fen if b.payment_state == "refund_due" else 0
        except YilianError as exc:
            show_error(exc)
            return
        self.say(f"已取消预约{f'，应退挂号费 {yuan(refund)}' if refund else ''}")
        self.refresh()
        self.load_today()

    def return_visit(self, booking_id: int, schedule_id: int | None) -> None:
        if not schedule_id:
            ui.notify("请选择复诊挂入的门诊", type="warning")
            return
        try:
            with unit_of_work() as session:
                entry = service.return_visit(session, self.actor, booking_id, schedule_id=int(schedule_id))
                ticket = entry.ticket_no
                waived = service.get_booking(session, self.actor, booking_id).fee_fen
        except YilianError as exc:
            show_error(exc)
            self.say(f"不能按复诊办理：{exc.detail}", ok=False)
            return
        self.say(f"复诊登记成功，候诊号 {ticket} 号；免挂号费（已减免 {yuan(waived)}），无需缴费")
        self.refresh()

    # -- walk-in -----------------------------------------------------------------------------------

    def load_today(self) -> None:
        options: dict[int, str] = {}
        groups: list[str] = []
        if self.hospital.value:
            today = business_date()
            with unit_of_work() as session:
                groups = list(service.get_policy(session, int(self.hospital.value)).priority_groups)
                names = Names(session)
                rows = service.open_schedules(
                    session, institution_id=int(self.hospital.value), start=today, end=today
                )
                free = service.remaining_places(session, [s.id for s in rows])
                options = {s.id: f"{names.schedule(s)} {yuan(s.fee_fen)} 余{free.get(s.id, 0)}" for s in rows}
        self.walk_schedule.set_options(options, value=None)
        self.groups.set_options(groups, value=[])
        self.on_walk_schedule()

    def on_walk_schedule(self) -> None:
        options: dict[int, str] = {}
        self.walk_fee.set_text("")
        if self.walk_schedule.value:
            with unit_of_work() as session:
                sched = service.get_schedule(session, int(self.walk_schedule.value))
                options = {
                    s.id: f"{slot_label(s)}（余 {s.capacity - s.booked}）"
                    for s in service.slots(session, sched.id)
                    if s.capacity > s.booked
                }
                self.walk_fee.set_text(f"挂号费 {yuan(sched.fee_fen)}　地点：{sched.location}")
        self.walk_slot.set_options(options, value=next(iter(options), None))

    def walk_in(self) -> None:
        if self.patient_id is None:
            ui.notify("请先查找并选择患者", type="warning")
            return
        if not self.walk_slot.value or not self.walk_method.value:
            ui.notify("请选择门诊、时段和缴费方式", type="warning")
            return
        try:
            with unit_of_work() as session:
                b = service.register_walk_in(
                    session,
                    self.actor,
                    slot_id=int(self.walk_slot.value),
                    patient_id=self.patient_id,
                    payment_method=str(self.walk_method.value),
                )
                fee, on_credit = b.fee_fen, b.payment_state == "credit"
        except YilianError as exc:
            show_error(exc)
            return
        if on_credit:
            self.say(f"现场挂号成功，挂号费 {yuan(fee)} 记入当日账单（先诊疗后付费）")
        else:
            self.say(f"现场挂号成功，已收挂号费 {yuan(fee)}")
        self.refresh()
        self.load_today()
