"""Typed errors of the scheduling area (Chinese titles, stable English codes)."""

from __future__ import annotations

from yilian.kit.errors import BadRequest, Conflict, Forbidden, NotFound


class SlotFull(Conflict):
    code = "slot_full"
    title = "号源已满"


class SlotNotReleased(Conflict):
    code = "slot_not_released"
    title = "号源尚未放出"


class ClinicStopped(Conflict):
    code = "clinic_stopped"
    title = "该门诊已停诊"


class DuplicateBooking(Conflict):
    code = "duplicate_booking"
    title = "同一医生同一时段只能预约一次"


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"
    title = "当日预约数已达上限"


class CancelTooLate(Conflict):
    code = "cancel_too_late"
    title = "已超过取消时限"


class NoShowBanned(Forbidden):
    code = "no_show_banned"
    title = "爽约次数过多，暂停网上预约"


class NotReturnEligible(Conflict):
    code = "not_return_eligible"
    title = "不符合一号管三天复诊条件"


class BookingStateError(Conflict):
    code = "booking_state"
    title = "预约状态不允许该操作"


class QueueEmpty(Conflict):
    code = "queue_empty"
    title = "当前无候诊患者"


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"
    title = "排班不存在"


class BookingNotFound(NotFound):
    code = "booking_not_found"
    title = "预约不存在"


class InvalidSchedule(BadRequest):
    code = "invalid_schedule"
    title = "排班参数无效"


class HoldExpired(Conflict):
    code = "hold_expired"
    title = "锁号已超时，号源已释放，请重新预约"


class CalendarDayNotFound(NotFound):
    code = "calendar_day_not_found"
    title = "该日期不在节假日日历中"
