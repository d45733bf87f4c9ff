"""The patient's booking page on a phone (预约挂号): hospital → department → doctor → day → time slot,
hold and pay the registration fee, and the list of one's bookings with cancel."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import local_now
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.kit.money import yuan
from yilian.scheduling import service
from yilian.scheduling.domain import PERIOD_LABELS, BookingStatus, places_ahead, slot_past
from yilian.scheduling.errors import CancelTooLate
from yilian.scheduling.models import Schedule
from yilian.scheduling.pages.common import (
    Names,
    booking_lines,
    clinic_label,
    day_label,
    hhmm,
    local_hhmm,
)
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        "预约挂号",
        "/scheduling/book",
        "event_available",
        "患者服务",
        Permission.BOOKING_BOOK,
        roles=frozenset({Role.PATIENT}),
        order=5,
        description="选医院、科室、医生和时段，在线预约并缴纳挂号费；查看和取消我的预约",
    )
)


@ui.page("/scheduling/book")
def book_page(request: Request) -> RedirectResponse | None:
    """Booking on a phone for the logged-in patient."""
    actor = guard(request, Permission.BOOKING_BOOK)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.BOOKING_BOOK):
        return None
    if actor.patient_id is None:
        with frame(actor, "预约挂号"):
            ui.label("仅患者账号可在此预约；窗口挂号请使用「挂号处」").classes("text-grey-7")
        return None
    with unit_of_work() as session:
        names = Names(session)
        hospitals = {i: names.institution(i) for i in service.bookable_institution_ids(session)}
    with frame(actor, "预约挂号"):
        _BookingFlow(actor, actor.patient_id, hospitals)
    return None


def _place_label(place: service.QueuePlace) -> ui.label:
    if place.calling:
        text = f"正在叫您的号（{place.ticket_no} 号），请到 {place.location or '诊室'} 就诊"
        return ui.label(text).classes("text-subtitle2 text-negative")
    text = f"候诊中：{place.ticket_no} 号，前面还有 {place.ahead} 人"
    return ui.label(text).classes("text-subtitle2 text-primary")


class _BookingFlow:
    """The cascade of choices, the held booking's payment panel and the list of my bookings."""

    def __init__(self, actor: Actor, patient_id: int, hospitals: dict[int, str]) -> None:
        self.actor = actor
        self.patient_id = patient_id
        self.key = f"web-{uuid.uuid4().hex[:16]}"  # per page: a double tap on a slot books once
        self.schedules: list[Schedule] = []
        self.methods = service.payment_methods()
        with ui.column().classes("w-full max-w-md gap-3"):
            with ui.card().classes("w-full gap-2"):
                self.hospital = self._select("book-institution", "医院", hospitals, self.on_hospital)
                self.department = self._select("book-department", "科室", {}, self.on_department)
                self.doctor = self._select("book-doctor", "医生", {}, self.on_doctor)
                self.day = self._select("book-day", "就诊日期", {}, self.on_day)
                self.release = ui.label("").classes("text-xs text-grey-7")
            self.sessions = ui.column().classes("w-full gap-3").props('data-testid="book-sessions"')
            self.hold = ui.column().classes("w-full").props('data-testid="book-hold"')
            ui.label("我的预约").classes("text-h6 text-grey-9 q-mt-md")
            self.mine = ui.column().classes("w-full gap-3").props('data-testid="my-bookings"')
        self.watched: dict[int, int] = {}  # schedule id → queue version shown
        if len(hospitals) == 1:
            self.hospital.set_value(next(iter(hospitals)))
        self.refresh_mine()
        ui.timer(3.0, self.watch_queues)

    @staticmethod
    def _select(testid: str, label: str, options: dict[Any, str], handler: Any) -> ui.select:
        return (
            ui.select(options, label=label, on_change=handler)
            .props(f'outlined data-testid="{testid}"')
            .classes("w-full")
        )

    # -- the cascade -------------------------------------------------------------------------------

    def on_hospital(self) -> None:
        self.schedules = []
        if self.hospital.value:
            with unit_of_work() as session:
                institution_id = int(self.hospital.value)
                start, end = service.booking_days(session, institution_id)
                policy = service.get_policy(session, institution_id)
                self.schedules = service.open_schedules(
                    session, institution_id=institution_id, start=start, end=end
                )
                names = Names(session)
                departments = {
                    d: names.department(d) for d in dict.fromkeys(s.department_id for s in self.schedules)
                }
            self.release.set_text(
                f"每日 {policy.release_time} 放出第 {policy.release_days_ahead} 天的号源；"
                f"就诊前 {policy.cancel_cutoff_minutes} 分钟内不能网上取消"
            )
        else:
            departments = {}
        self.department.set_options(departments, value=None)
        self.on_department()

    def on_department(self) -> None:
        doctors: dict[int, str] = {}
        if self.department.value:
            with unit_of_work() as session:
                names = Names(session)
                for s in self.schedules:
                    if s.department_id == self.department.value:
                        doctors.setdefault(s.practitioner_id or 0, names.doctor(s.practitioner_id))
        self.doctor.set_options(doctors, value=None)
        self.on_doctor()

    def _chosen(self) -> list[Schedule]:
        return [
            s
            for s in self.schedules
            if s.department_id == self.department.value and (s.practitioner_id or 0) == self.doctor.value
        ]

    def on_doctor(self) -> None:
        days = (
            {} if self.doctor.value is None else {s.day.isoformat(): day_label(s.day) for s in self._chosen()}
        )
        self.day.set_options(days, value=None)
        self.on_day()

    def on_day(self) -> None:
        self.sessions.clear()
        if not self.day.value:
            return
        chosen = [s for s in self._chosen() if s.day.isoformat() == self.day.value]
        now = local_now()
        with unit_of_work() as session:
            rows = [(s, service.slots(session, s.id)) for s in chosen]

        def is_past(sched: Schedule, start: Any) -> bool:
            return slot_past(sched.day, start, now)

        # places still to be had: a slice already past is not counted, even with room left
        free = {
            sched.id: places_ahead(sched.day, [(sl.start, sl.capacity, sl.booked) for sl in slots], now)
            for sched, slots in rows
        }
        with self.sessions:
            for sched, slots in rows:
                with ui.card().classes("w-full gap-2").props(f'data-testid="book-session-{sched.id}"'):
                    with ui.row().classes("items-center justify-between w-full no-wrap"):
                        period = PERIOD_LABELS.get(sched.period, sched.period)
                        ui.label(f"{period} · {clinic_label(sched.clinic_type)}").classes(
                            "text-subtitle1 font-medium"
                        )
                        ui.label(yuan(sched.fee_fen)).classes("text-subtitle1 text-accent")
                    ui.label(f"地点：{sched.location}　剩余 {free.get(sched.id, 0)} 个号").classes(
                        "text-grey-8 text-sm"
                    )
                    with ui.grid(columns=3).classes("w-full gap-2"):
                        for slot in slots:
                            left = slot.capacity - slot.booked
                            past = is_past(sched, slot.start)
                            text = (
                                f"{hhmm(slot.start)}\n{'已过' if past else f'余 {left}' if left else '约满'}"
                            )
                            button = (
                                ui.button(text, on_click=lambda _e, sid=slot.id: self.book(sid))
                                .props(f'outline no-caps data-testid="slot-{slot.id}"')
                                .classes("w-full whitespace-pre-line")
                            )
                            if left <= 0 or past:
                                button.disable()

    # -- hold, pay, cancel --------------------------------------------------------------------------

    def book(self, slot_id: int) -> None:
        try:
            with unit_of_work() as session:
                b = service.book(
                    session,
                    self.actor,
                    slot_id=slot_id,
                    patient_id=self.patient_id,
                    idempotency_key=f"{self.key}-{slot_id}",
                )
                booking_id, fee, until = b.id, b.fee_fen, b.hold_expires_at
        except YilianError as exc:
            show_error(exc)
            return
        self.show_hold(booking_id, fee, local_hhmm(until))
        self.on_day()
        self.refresh_mine()

    def show_hold(self, booking_id: int, fee: int, until: str) -> None:
        self.hold.clear()
        with self.hold, ui.card().classes("w-full gap-2 bg-orange-1"):
            ui.label("已锁定号源，请支付挂号费").classes("text-subtitle1 font-medium")
            ui.label(f"挂号费 {yuan(fee)}，请在 {until} 前完成支付").props('data-testid="book-hold-fee"')
            # paying at a window or kiosk happens in the hospital, not on the phone
            online = {k: v for k, v in self.methods.items() if k not in ("desk", "kiosk")} or self.methods
            method = (
                ui.select(online, label="支付方式", value=next(iter(online), None))
                .props('outlined data-testid="book-pay-method"')
                .classes("w-full")
            )
            ui.button("确认支付", on_click=lambda: self.pay(booking_id, method.value)).props(
                'data-testid="book-confirm"'
            ).classes("w-full")

    def pay(self, booking_id: int, method: str | None) -> None:
        if not method:
            ui.notify("请选择支付方式", type="warning")
            return
        try:
            with unit_of_work() as session:
                b = service.confirm(session, self.actor, booking_id, payment_method=method)
                valid_until = b.valid_until if b.qualifies_three_day else None
        except YilianError as exc:
            show_error(exc)
            return
        self.hold.clear()
        with self.hold, ui.card().classes("w-full bg-green-1").props('data-testid="book-done"'):
            ui.label("挂号成功").classes("text-subtitle1 text-positive font-medium")
            if valid_until is not None:
                ui.label(
                    f"一号管三天，有效期至 {day_label(valid_until)}；有效期内同科室复诊免挂号费"
                ).classes("text-sm")
            ui.label("就诊当日请先到分诊台或自助机签到").classes("text-sm text-grey-8")
        self.refresh_mine()

    def cancel(self, booking_id: int, institution_id: int) -> None:
        try:
            with unit_of_work() as session:
                service.cancel(session, self.actor, booking_id)
        except CancelTooLate:
            with unit_of_work() as session:
                cutoff = service.get_policy(session, institution_id).cancel_cutoff_minutes
            ui.notify(
                f"已超过取消时限：就诊前 {cutoff} 分钟内不能网上取消，请到医院挂号窗口办理",
                type="negative",
                multi_line=True,
            )
            return
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify("预约已取消，已缴挂号费将原路退回", type="positive")
        self.hold.clear()
        self.on_day()
        self.refresh_mine()

    def ask_cancel(self, booking_id: int, institution_id: int, what: str) -> None:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"确定取消 {what} 的预约？")
            with ui.row().classes("justify-end w-full"):
                ui.button("不取消", on_click=dialog.close).props("flat")

                def go() -> None:
                    dialog.close()
                    self.cancel(booking_id, institution_id)

                ui.button("确定取消", on_click=go).props('color=negative data-testid="cancel-yes"')
        dialog.open()

    def check_in(self, booking_id: int) -> None:
        """自助签到 (phone or kiosk): join the doctor's queue on the clinic day."""
        try:
            with unit_of_work() as session:
                entry = service.check_in(session, self.actor, booking_id)
                ticket = entry.ticket_no
        except YilianError as exc:
            show_error(exc)
            return
        ui.notify(f"签到成功，候诊号 {ticket} 号，请留意候诊大屏叫号", type="positive")
        self.refresh_mine()

    def rebook(self, institution_id: int, department_id: int) -> None:
        """停诊 → offer the same department's other clinics (the fee of the stopped one is refunded)."""
        self.hospital.set_value(institution_id)
        if department_id in self.department.options:
            self.department.set_value(department_id)
            ui.notify("请选择同科室其他医生或日期", type="info")
        else:
            ui.notify("该科室近期暂无可预约的门诊", type="warning")

    def watch_queues(self) -> None:
        """Redraw my bookings when a queue I am waiting in changes (called, someone ahead seen)."""
        if not self.watched:
            return
        with unit_of_work() as session:
            changed = any(service.queue_version(session, sid) != v for sid, v in self.watched.items())
        if changed:
            self.refresh_mine()

    def refresh_mine(self) -> None:
        self.watched = {}
        self.mine.clear()
        with unit_of_work() as session:
            views = service.patient_bookings(session, self.actor, self.patient_id)
            names = Names(session)
            with self.mine:
                if not views:
                    ui.label("暂无预约").classes("text-grey-7")
                for view in views:
                    b = view.booking
                    with ui.card().classes("w-full gap-1").props(f'data-testid="my-booking-{b.id}"'):
                        booking_lines(view, names, self.methods)
                        today = local_now().date()
                        if b.status == BookingStatus.CONFIRMED and b.day <= today <= (b.valid_until or b.day):
                            if b.day == today:  # a check-in at the desk shows up here by itself
                                self.watched[b.schedule_id] = service.queue_version(session, b.schedule_id)
                            place = service.queue_place(session, b.id)
                            if place is not None:
                                self.watched[place.schedule_id] = service.queue_version(
                                    session, place.schedule_id
                                )
                                _place_label(place).props(f'data-testid="queue-place-{b.id}"')
                        if b.status == BookingStatus.STOPPED:
                            ui.label("该门诊已停诊，挂号费原路退回；可改约同科室其他门诊").classes(
                                "text-sm text-negative"
                            )
                            with ui.row().classes("w-full justify-end"):
                                ui.button(
                                    "改约",
                                    on_click=lambda _e, b=b: self.rebook(b.institution_id, b.department_id),
                                ).props(f'dense outline data-testid="rebook-{b.id}"')
                            continue
                        if (
                            b.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED)
                            or view.ticket_no is not None
                        ):
                            continue
                        with ui.row().classes("w-full justify-end gap-2"):
                            if b.status == BookingStatus.CONFIRMED and b.day == local_now().date():
                                ui.button("到院签到", on_click=lambda _e, b=b: self.check_in(b.id)).props(
                                    f'dense data-testid="self-checkin-{b.id}"'
                                )
                            if b.status == BookingStatus.HELD:
                                ui.button(
                                    "去支付",
                                    on_click=lambda _e, b=b: self.show_hold(
                                        b.id, b.fee_fen, local_hhmm(b.hold_expires_at)
                                    ),
                                ).props(f'dense data-testid="pay-{b.id}"')
                            ui.button(
                                "取消预约",
                                on_click=lambda _e, b=b: self.ask_cancel(
                                    b.id, b.institution_id, day_label(b.day)
                                ),
                            ).props(f'dense outline color=negative data-testid="cancel-{b.id}"')
