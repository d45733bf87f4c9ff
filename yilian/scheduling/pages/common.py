"""What the scheduling pages share: Chinese labels, date and slot formats, name look-ups, booking lines."""

from __future__ import annotations

from datetime import date, datetime, time

from nicegui import ui
from sqlalchemy.orm import Session

from yilian.kit.clock import BUSINESS_TZ
from yilian.kit.money import yuan
from yilian.registry import service as registry
from yilian.scheduling.domain import CLINIC_TYPE_LABELS, PERIOD_LABELS, BookingStatus
from yilian.scheduling.models import Schedule, Slot
from yilian.scheduling.service import BookingView

GROUP = "排班与挂号"

STATUS_LABELS: dict[str, str] = {
    BookingStatus.HELD: "待支付",
    BookingStatus.CONFIRMED: "已挂号",
    BookingStatus.CANCELLED: "已取消",
    BookingStatus.EXPIRED: "锁号超时",
    BookingStatus.NO_SHOW: "爽约",
    BookingStatus.STOPPED: "已停诊",
}
STATUS_COLORS: dict[str, str] = {
    BookingStatus.HELD: "warning",
    BookingStatus.CONFIRMED: "positive",
    BookingStatus.CANCELLED: "grey",
    BookingStatus.EXPIRED: "grey",
    BookingStatus.NO_SHOW: "negative",
    BookingStatus.STOPPED: "negative",
}
PAYMENT_STATE_LABELS = {
    "unpaid": "未支付",
    "paid": "已支付",
    "free": "免费",
    "refund_due": "待退费",
    "refunded": "已退费",
    "credit": "先诊疗后付费",
}
WEEKDAYS = "一二三四五六日"


def day_label(day: date) -> str:
    """``5月8日 周五``."""
    return f"{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def slot_label(slot: Slot) -> str:
    """``08:00–08:15``."""
    return f"{hhmm(slot.start)}–{hhmm(slot.end)}"


def local_hhmm(at: datetime | None) -> str:
    return at.astimezone(BUSINESS_TZ).strftime("%H:%M") if at else ""


def clinic_label(clinic_type: str) -> str:
    """``普通门诊``."""
    return f"{CLINIC_TYPE_LABELS.get(clinic_type, clinic_type)}门诊"


class Names:
    """Institution, department and practitioner names, looked up once per page build."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[tuple[str, int], str] = {}

    def institution(self, institution_id: int) -> str:
        key = ("i", institution_id)
        if key not in self._cache:
            self._cache[key] = registry.get_institution(self._session, institution_id).name
        return self._cache[key]

    def department(self, department_id: int) -> str:
        key = ("d", department_id)
        if key not in self._cache:
            self._cache[key] = registry.get_department(self._session, department_id).name
        return self._cache[key]

    def doctor(self, practitioner_id: int | None) -> str:
        """``张伟（主任医师）``, or the department's shared clinic when no doctor is named."""
        if practitioner_id is None:
            return "普通号（不指定医生）"
        key = ("p", practitioner_id)
        if key not in self._cache:
            doc = registry.get_practitioner(self._session, practitioner_id)
            self._cache[key] = f"{doc.name}（{doc.title}）"
        return self._cache[key]

    def schedule(self, sched: Schedule) -> str:
        """``内科 张伟（主任医师） 上午 普通门诊``."""
        return (
            f"{self.department(sched.department_id)} {self.doctor(sched.practitioner_id)} "
            f"{PERIOD_LABELS.get(sched.period, sched.period)} {clinic_label(sched.clinic_type)}"
        )


def booking_lines(view: BookingView, names: Names, methods: dict[str, str]) -> None:
    """Draw what a person needs to know about one booking (inside the caller's container)."""
    b, sched = view.booking, view.schedule
    with ui.row().classes("items-center justify-between w-full no-wrap"):
        ui.label(
            f"{day_label(b.day)} {PERIOD_LABELS.get(sched.period, sched.period)} {slot_label(view.slot)}"
        ).classes("text-subtitle1 font-medium")
        ui.badge(STATUS_LABELS.get(b.status, b.status)).props(
            f'color={STATUS_COLORS.get(b.status, "grey")} data-testid="booking-status-{b.id}"'
        )
    ui.label(f"{names.institution(b.institution_id)} · {names.department(b.department_id)}").classes(
        "text-grey-8"
    )
    ui.label(
        f"{names.doctor(b.practitioner_id)} · {clinic_label(sched.clinic_type)} · {sched.location}"
    ).classes("text-grey-8")
    paid = PAYMENT_STATE_LABELS.get(b.payment_state, b.payment_state)
    method = f"，{methods.get(b.payment_method, b.payment_method)}" if b.payment_method else ""
    ui.label(f"挂号费 {yuan(b.fee_fen)}（{paid}{method}）").props(f'data-testid="booking-fee-{b.id}"')
    if b.status == BookingStatus.HELD and b.hold_expires_at is not None:
        ui.label(f"已锁号，请在 {local_hhmm(b.hold_expires_at)} 前完成支付，逾期自动释放").classes(
            "text-warning text-sm"
        )
    if b.status == BookingStatus.CONFIRMED and b.qualifies_three_day and b.valid_until is not None:
        ui.label(f"一号管三天，有效期至 {day_label(b.valid_until)}").classes("text-primary text-sm").props(
            f'data-testid="booking-valid-{b.id}"'
        )
    if view.ticket_no is not None:
        ui.label(f"已签到，候诊号 {view.ticket_no} 号").classes("text-positive text-sm")
    for rv in view.return_visits:
        ui.label(f"{day_label(rv.day)} 复诊：免挂号费（已减免 {yuan(rv.fee_waived_fen)}）").classes(
            "text-positive text-sm"
        ).props(f'data-testid="booking-return-{b.id}"')
