"""Pure scheduling rules: policy values, release, booking checks, three-day validity, queue order.

No database, web or UI imports here. Every number is a field of :class:`Policy`; the service stores
one policy per institution (seeded with these defaults) and passes it in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

import chinese_calendar


class ClinicType(enum.StrEnum):
    ORDINARY = "ordinary"  # 普通门诊
    EXPERT = "expert"  # 专家门诊
    SPECIAL = "special"  # 特需门诊
    MDT = "mdt"  # 多学科会诊
    CONVENIENCE = "convenience"  # 便民门诊
    INTERNET = "internet"  # 互联网门诊
    EMERGENCY = "emergency"  # 急诊


CLINIC_TYPE_LABELS: dict[str, str] = {
    "ordinary": "普通",
    "expert": "专家",
    "special": "特需",
    "mdt": "MDT",
    "convenience": "便民",
    "internet": "互联网",
    "emergency": "急诊",
}


class SessionPeriod(enum.StrEnum):
    MORNING = "am"
    AFTERNOON = "pm"
    EVENING = "night"


PERIOD_LABELS = {"am": "上午", "pm": "下午", "night": "夜间"}


def _default_fees() -> dict[str, int]:
    # registration fee (挂号费/诊察费) in fen by clinic type
    return {
        "ordinary": 1000,
        "expert": 2500,
        "special": 10000,
        "mdt": 30000,
        "convenience": 500,
        "internet": 1000,
        "emergency": 1200,
    }


def _default_title_surcharge() -> dict[str, int]:
    # surcharge in fen by practitioner title (applies to expert/special clinics)
    return {"主任医师": 1500, "副主任医师": 500}


@dataclass(frozen=True)
class Policy:
    """Institution policy. Defaults are the seeded values; every rule reads its number from here."""

    release_time: str = "07:00"
    release_days_ahead: int = 7
    hold_minutes: int = 10
    max_bookings_per_patient_per_day: int = 3
    one_booking_per_doctor_session: bool = True
    cancel_cutoff_minutes: int = 120
    no_show_limit: int = 3
    no_show_window_days: int = 90
    no_show_ban_days: int = 30
    slice_minutes: int = 15
    slice_capacity: int = 4
    three_day_enabled: bool = True
    three_day_days: int = 3
    three_day_min_level: int = 2
    three_day_clinic_types: tuple[str, ...] = ("ordinary",)
    three_day_free_returns: int = 1
    three_day_max_extension_days: int = 30
    priority_age: int = 70
    priority_groups: tuple[str, ...] = ("军人", "残疾人", "孕妇", "消防救援人员")
    return_after_firsts: int = 2
    skip_rejoin_places: int = 3
    makeup_day_weekday: int = 0  # a make-up working day (调休上班) runs this weekday's template (0 = Monday)
    fees: dict[str, int] = field(default_factory=_default_fees)
    title_surcharge: dict[str, int] = field(default_factory=_default_title_surcharge)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"未知的策略项: {key}")
            kwargs[key] = tuple(value) if isinstance(value, list) else value
        policy = cls(**kwargs)
        policy.validate()
        return policy

    def validate(self) -> None:
        parse_hhmm(self.release_time)
        for name in (
            "release_days_ahead",
            "hold_minutes",
            "max_bookings_per_patient_per_day",
            "no_show_limit",
            "slice_minutes",
            "slice_capacity",
            "three_day_days",
            "return_after_firsts",
            "skip_rejoin_places",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"策略项 {name} 必须为正整数")
        non_negative = (
            "cancel_cutoff_minutes",
            "no_show_window_days",
            "no_show_ban_days",
            "three_day_free_returns",
        )
        for name in non_negative:
            if int(getattr(self, name)) < 0:
                raise ValueError(f"策略项 {name} 不能为负数")
        if not 0 <= int(self.makeup_day_weekday) <= 6:
            raise ValueError("调休上班日参照的星期应为 0–6")
        if any(int(v) < 0 for v in self.fees.values()):
            raise ValueError("挂号费不能为负数")


def parse_hhmm(text: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"时间格式应为 HH:MM: {text!r}") from exc


# --- fees -------------------------------------------------------------------------------------------


def registration_fee(policy: Policy, clinic_type: str, title: str) -> int:
    """Registration fee in fen for a clinic type and practitioner title."""
    base = int(policy.fees.get(clinic_type, policy.fees.get("ordinary", 0)))
    if clinic_type in ("expert", "special"):
        base += int(policy.title_surcharge.get(title, 0))
    return base


# --- release (放号) ---------------------------------------------------------------------------------


def release_at(policy: Policy, clinic_day: date) -> tuple[date, time]:
    """Local date and time when slots for ``clinic_day`` open."""
    return clinic_day - timedelta(days=policy.release_days_ahead), parse_hhmm(policy.release_time)


def is_released(policy: Policy, clinic_day: date, local_now: datetime) -> bool:
    day, at = release_at(policy, clinic_day)
    return local_now.replace(tzinfo=None) >= datetime.combine(day, at)


# --- slots ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotSpec:
    start: time
    end: time
    capacity: int


def slice_session(start: time, end: time, slice_minutes: int, capacity: int) -> list[SlotSpec]:
    """Split a half-day session into time slices (分时段) of ``slice_minutes`` with a capacity each."""
    if slice_minutes < 1 or capacity < 1:
        raise ValueError("时段长度与容量必须为正")
    base = date(2000, 1, 1)
    cur = datetime.combine(base, start)
    stop = datetime.combine(base, end)
    if stop <= cur:
        raise ValueError("结束时间必须晚于开始时间")
    out: list[SlotSpec] = []
    while cur < stop:
        nxt = min(cur + timedelta(minutes=slice_minutes), stop)
        out.append(SlotSpec(cur.time(), nxt.time(), capacity))
        cur = nxt
    return out


# --- calendar (节假日日历) -----------------------------------------------------------------------------

DAY_KINDS = {"holiday": "法定节假日", "makeup": "调休上班", "weekend": "周末", "workday": "工作日"}
EDITABLE_KINDS = ("holiday", "makeup")  # what the calendar table stores; weekends and workdays follow

# the festival a day off or make-up day belongs to, in Chinese (the package names them in English)
PACKAGE_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@dataclass(frozen=True)
class HolidayCalendar:
    """The statutory holidays (法定节假日) and make-up working days (调休上班) of the years it knows.

    A day listed in neither is a weekend (Saturday, Sunday) or a working day. ``known_years`` are the
    years whose whole arrangement (the State Council's notice) has been entered; for any other year the
    calendar still honours the days that are listed, treats the rest as weekends and working days, and
    :meth:`unknown_years` names the year so that callers can warn.
    """

    holidays: Mapping[date, str] = field(default_factory=dict)
    makeup_days: Mapping[date, str] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()

    @classmethod
    def from_years(
        cls, years: Mapping[int, tuple[Mapping[date, str], Mapping[date, str]]]
    ) -> HolidayCalendar:
        """A calendar of complete years: year → (holidays, make-up days), e.g. ``package_calendar()``."""
        return cls(
            {d: n for holidays, _ in years.values() for d, n in holidays.items()},
            {d: n for _, makeup in years.values() for d, n in makeup.items()},
            frozenset(years),
        )

    def kind(self, day: date) -> str:
        """'holiday', 'makeup' (调休上班), 'weekend' or 'workday'."""
        if day in self.holidays:
            return "holiday"
        if day in self.makeup_days:
            return "makeup"
        return "weekend" if day.weekday() >= 5 else "workday"

    def name(self, day: date) -> str:
        return self.holidays.get(day) or self.makeup_days.get(day) or ""

    def unknown_years(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` whose arrangement is not (fully) entered."""
        return [y for y in range(first.year, last.year + 1) if y not in self.known_years]


def calendar_warning(years: Sequence[int]) -> str | None:
    """The warning shown when a calendar falls back to weekends for ``years`` (None when there are none)."""
    if not years:
        return None
    named = "、".join(f"{y}年" for y in years)
    return (
        f"{named}的法定节假日与调休安排尚未录入完整：除已录入的日期外按周六、周日休息处理。"
        "请在“排班管理 → 节假日日历”中按国务院办公厅通知录入后标记为已录入完整。"
    )


def package_calendar() -> dict[int, tuple[dict[date, str], dict[date, str]]]:
    """The arrangement of every year the ``chinesecalendar`` package covers: year → (holidays, make-up
    days), names in Chinese. Only used to seed the calendar table; rules read the table."""
    out: dict[int, tuple[dict[date, str], dict[date, str]]] = {}
    for source, index in ((chinese_calendar.holidays, 0), (chinese_calendar.workdays, 1)):
        for day, holiday in source.items():
            english = getattr(holiday, "value", str(holiday))
            out.setdefault(day.year, ({}, {}))[index][day] = PACKAGE_HOLIDAY_NAMES.get(english, english)
    return out


@dataclass(frozen=True)
class WeeklyOpening:
    """When a department holds clinics: weekdays (0=Mon), plus weekend/holiday clinics, on a calendar."""

    calendar: HolidayCalendar
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    weekend_clinic: bool = False
    holiday_clinic: bool = False

    def is_open(self, day: date) -> bool:
        kind = self.calendar.kind(day)
        if kind == "holiday":
            return self.holiday_clinic
        if kind == "makeup":
            return True  # a make-up working day runs the normal weekday service
        if kind == "weekend":
            return self.weekend_clinic
        return day.weekday() in self.weekdays


def template_runs_on(
    policy: Policy, calendar: HolidayCalendar, *, weekday: int, on_holidays: bool, day: date
) -> bool:
    """Whether a weekly template row (排班模板) for ``weekday`` yields a clinic on ``day``.

    Working days and weekends run the rows of their own weekday (a weekend row is a weekend clinic);
    public holidays run only rows marked ``on_holidays``; a make-up working day (调休上班) runs the rows
    of ``policy.makeup_day_weekday`` as well as its own weekend rows.
    """
    kind = calendar.kind(day)
    if kind == "holiday":
        return on_holidays and weekday == day.weekday()
    if kind == "makeup":
        return weekday in (day.weekday(), policy.makeup_day_weekday)
    return weekday == day.weekday()


# --- booking rules ----------------------------------------------------------------------------------


class BookingRefusal(enum.StrEnum):
    NOT_RELEASED = "not_released"
    PAST = "past"
    DUPLICATE = "duplicate"
    DAILY_LIMIT = "daily_limit"
    NO_SHOW_BAN = "no_show_ban"


def no_show_ban_until(policy: Policy, no_show_days: Sequence[date], today: date) -> date | None:
    """If the patient reached ``no_show_limit`` no-shows within any ``no_show_window_days`` window whose
    last no-show is less than ``no_show_ban_days`` ago, return the last banned day; else None."""
    days = sorted(d for d in no_show_days if d <= today)
    limit = policy.no_show_limit
    for i in range(len(days) - limit, -1, -1):
        first, last = days[i], days[i + limit - 1]
        if (last - first).days < policy.no_show_window_days:
            until = last + timedelta(days=policy.no_show_ban_days)
            if today < until:
                return until - timedelta(days=1)
    return None


def check_booking(
    policy: Policy,
    *,
    local_now: datetime,
    clinic_day: date,
    slot_start: time,
    online: bool,
    same_doctor_session_bookings: int,
    bookings_that_day: int,
    no_show_days: Sequence[date],
) -> BookingRefusal | None:
    """Return why a booking is refused, or None when it may proceed."""
    if datetime.combine(clinic_day, slot_start) <= local_now.replace(tzinfo=None) and online:
        return BookingRefusal.PAST
    if online and not is_released(policy, clinic_day, local_now):
        return BookingRefusal.NOT_RELEASED
    if policy.one_booking_per_doctor_session and same_doctor_session_bookings > 0:
        return BookingRefusal.DUPLICATE
    if bookings_that_day >= policy.max_bookings_per_patient_per_day:
        return BookingRefusal.DAILY_LIMIT
    if online and no_show_ban_until(policy, no_show_days, local_now.date()) is not None:
        return BookingRefusal.NO_SHOW_BAN
    return None


def slot_past(clinic_day: date, slot_start: time, local_now: datetime) -> bool:
    """Tell whether a slice has begun (a place in it can no longer be had on line)."""
    return datetime.combine(clinic_day, slot_start) <= local_now.replace(tzinfo=None)


def places_ahead(clinic_day: date, slots: Sequence[tuple[time, int, int]], local_now: datetime) -> int:
    """Free places (剩余 N 个号) of a session's ``(start, capacity, booked)`` slices still ahead of now."""
    return sum(
        max(0, cap - booked) for start, cap, booked in slots if not slot_past(clinic_day, start, local_now)
    )


def can_cancel(policy: Policy, *, local_now: datetime, clinic_day: date, slot_start: time) -> bool:
    deadline = datetime.combine(clinic_day, slot_start) - timedelta(minutes=policy.cancel_cutoff_minutes)
    return local_now.replace(tzinfo=None) <= deadline


# --- three-day validity (一号管三天) -----------------------------------------------------------------


def qualifies_three_day(
    policy: Policy, *, clinic_type: str, institution_level: int, institution_public: bool
) -> bool:
    """Whether a registration carries the three-day validity (docs/domain.md §1)."""
    return (
        policy.three_day_enabled
        and institution_public
        and institution_level >= policy.three_day_min_level
        and clinic_type in policy.three_day_clinic_types
    )


def three_day_window(policy: Policy, first_day: date, department_open: Callable[[date], bool]) -> list[date]:
    """The days on which a return visit is valid, day 1 = ``first_day``.

    The window is ``three_day_days`` days; each day of it on which the department does not open
    extends the window by one day (顺延). Returned: the open days after ``first_day`` in the window.
    """
    remaining = policy.three_day_days - 1
    out: list[date] = []
    day = first_day
    scanned = 0
    while remaining > 0 and scanned < policy.three_day_max_extension_days:
        day += timedelta(days=1)
        scanned += 1
        if department_open(day):
            out.append(day)
            remaining -= 1
    return out


def last_valid_day(policy: Policy, first_day: date, department_open: Callable[[date], bool]) -> date:
    window = three_day_window(policy, first_day, department_open)
    return window[-1] if window else first_day


class ReturnRefusal(enum.StrEnum):
    NOT_QUALIFYING = "not_qualifying"
    SAME_DAY = "same_day"
    EXPIRED = "expired"
    DEPARTMENT_CLOSED = "department_closed"
    OTHER_DEPARTMENT = "other_department"
    OTHER_CAMPUS = "other_campus"
    OTHER_INSTITUTION = "other_institution"
    USED_UP = "used_up"
    EPISODE_CLOSED = "episode_closed"


RETURN_REFUSAL_TEXT = {
    "not_qualifying": "该号别或机构不适用一号管三天",
    "same_day": "首诊当日不属于复诊",
    "expired": "已超过三天有效期",
    "department_closed": "该科室当日不开诊",
    "other_department": "跨科室需重新挂号",
    "other_campus": "跨院区需重新挂号",
    "other_institution": "跨机构需重新挂号",
    "used_up": "免费复诊次数已用完",
    "episode_closed": "本次诊疗已结束",
}


@dataclass(frozen=True)
class RegistrationFacts:
    first_day: date
    institution_id: int
    campus_id: int | None
    department_id: int
    qualifies: bool
    returns_used: int
    episode_closed: bool


def check_return_visit(
    policy: Policy,
    reg: RegistrationFacts,
    *,
    visit_day: date,
    institution_id: int,
    campus_id: int | None,
    department_id: int,
    department_open: Callable[[date], bool],
) -> ReturnRefusal | None:
    """Why a return visit under ``reg`` on ``visit_day`` is refused, or None when it is free."""
    if not reg.qualifies:
        return ReturnRefusal.NOT_QUALIFYING
    if institution_id != reg.institution_id:
        return ReturnRefusal.OTHER_INSTITUTION
    if campus_id != reg.campus_id:
        return ReturnRefusal.OTHER_CAMPUS
    if department_id != reg.department_id:
        return ReturnRefusal.OTHER_DEPARTMENT
    if reg.episode_closed:
        return ReturnRefusal.EPISODE_CLOSED
    if reg.returns_used >= policy.three_day_free_returns:
        return ReturnRefusal.USED_UP
    if visit_day <= reg.first_day:
        return ReturnRefusal.SAME_DAY
    if not department_open(visit_day):
        return ReturnRefusal.DEPARTMENT_CLOSED
    if visit_day not in three_day_window(policy, reg.first_day, department_open):
        return ReturnRefusal.EXPIRED
    return None


# --- indicators ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicators:
    """Booking indicators of a period (for dashboards)."""

    bookings: int  # every booking made for a clinic day of the period
    registrations: int  # confirmed (挂号成功), no-shows included
    online: int  # of the registrations, booked online
    cancelled: int
    stopped: int  # cancelled by 停诊
    no_shows: int
    three_day_registrations: int  # registrations carrying 一号管三天
    return_visits: int  # free return visits served
    fees_waived_fen: int

    @property
    def online_permille(self) -> int:
        return self.online * 1000 // self.registrations if self.registrations else 0

    @property
    def no_show_permille(self) -> int:
        return self.no_shows * 1000 // self.registrations if self.registrations else 0


def indicators_of(
    counts: dict[tuple[str, str], int],
    *,
    three_day_registrations: int,
    return_visits: int,
    fees_waived_fen: int,
) -> Indicators:
    """Indicators from booking counts by (status, channel)."""

    def total(*statuses: str, channel: str | None = None) -> int:
        return sum(
            n for (st, ch), n in counts.items() if st in statuses and (channel is None or ch == channel)
        )

    return Indicators(
        bookings=sum(counts.values()),
        registrations=total(BookingStatus.CONFIRMED, BookingStatus.NO_SHOW),
        online=total(BookingStatus.CONFIRMED, BookingStatus.NO_SHOW, channel="online"),
        cancelled=total(BookingStatus.CANCELLED),
        stopped=total(BookingStatus.STOPPED),
        no_shows=total(BookingStatus.NO_SHOW),
        three_day_registrations=three_day_registrations,
        return_visits=return_visits,
        fees_waived_fen=fees_waived_fen,
    )


# --- queue order (候诊排序) ---------------------------------------------------------------------------


def is_priority(policy: Policy, *, age: int, groups: Sequence[str]) -> bool:
    return age >= policy.priority_age or any(g in policy.priority_groups for g in groups)


@dataclass(frozen=True)
class Waiting:
    entry_id: int
    sort_key: int
    priority: bool
    is_return: bool


def pick_next(policy: Policy, waiting: Sequence[Waiting], firsts_since_return: int) -> Waiting | None:
    """The entry to call next.

    Priority patients first (in order); otherwise one return visit after every
    ``return_after_firsts`` first visits, while both kinds wait; otherwise the earliest.
    """
    if not waiting:
        return None
    ordered = sorted(waiting, key=lambda w: (w.sort_key, w.entry_id))
    prio = [w for w in ordered if w.priority]
    if prio:
        return prio[0]
    returns = [w for w in ordered if w.is_return]
    firsts = [w for w in ordered if not w.is_return]
    if returns and (not firsts or firsts_since_return >= policy.return_after_firsts):
        return returns[0]
    return firsts[0] if firsts else returns[0]


def after_call_counter(called: Waiting, firsts_since_return: int) -> int:
    """Update the first-visits-since-last-return counter after ``called`` is called."""
    if called.priority:
        return firsts_since_return
    return 0 if called.is_return else firsts_since_return + 1


KEY_STEP = 1000


def ticket_key(ticket_no: int) -> int:
    return ticket_no * KEY_STEP


def rejoin_key(policy: Policy, waiting_keys: Sequence[int]) -> int:
    """Sort key for a skipped (过号) patient: behind the next ``skip_rejoin_places`` waiting patients."""
    keys = sorted(waiting_keys)
    n = policy.skip_rejoin_places
    if len(keys) <= n:
        return (keys[-1] if keys else 0) + KEY_STEP
    return (keys[n - 1] + keys[n]) // 2 if keys[n] - keys[n - 1] > 1 else keys[n - 1] + 1


# ---------------------------------------------------------------- statuses (stored as their plain values)


class BookingStatus(enum.StrEnum):
    HELD = "held"  # 锁号待支付
    CONFIRMED = "confirmed"  # 已挂号
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the hold ran out (锁号超时)
    NO_SHOW = "no_show"  # 爽约
    STOPPED = "stopped"  # the clinic was stopped (停诊)


class ScheduleStatus(enum.StrEnum):
    OPEN = "open"
    STOPPED = "stopped"


class QueueStatus(enum.StrEnum):
    """A checked-in patient's place in the doctor's queue."""

    WAITING = "waiting"
    CALLED = "called"
    DONE = "done"
    SKIPPED = "skipped"
