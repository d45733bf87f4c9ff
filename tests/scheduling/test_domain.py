"""Pure rules: three-day window over the Chinese calendar, booking checks, release, queue order."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from yilian.scheduling import domain as d
from yilian.scheduling.domain import Policy, WeeklyOpening

P = Policy()
# the calendar as seeded from the chinesecalendar package (the service reads it from the table)
CAL = d.HolidayCalendar.from_years(d.package_calendar())
WEEKDAYS = WeeklyOpening(CAL)
ALWAYS = WeeklyOpening(CAL, frozenset(range(7)), weekend_clinic=True, holiday_clinic=True)


def _window(first: date, opening: WeeklyOpening, policy: Policy = P) -> list[date]:
    return d.three_day_window(policy, first, opening.is_open)


def test_calendar_kinds_2026_national_day() -> None:
    assert CAL.kind(date(2026, 10, 1)) == "holiday"
    assert CAL.name(date(2026, 10, 1)) == "国庆节"
    assert CAL.kind(date(2026, 10, 7)) == "holiday"
    assert CAL.kind(date(2026, 10, 8)) == "workday"
    assert CAL.kind(date(2026, 10, 10)) == "makeup"  # Saturday make-up working day
    assert CAL.kind(date(2026, 11, 21)) == "weekend"


def test_window_example_of_the_rule_department_open_every_day() -> None:
    # first visit 7 May: return 8 or 9 May
    assert _window(date(2026, 5, 7), ALWAYS) == [date(2026, 5, 8), date(2026, 5, 9)]


def test_window_extends_over_weekend() -> None:
    # Friday 20 Nov 2026, weekday department: Sat/Sun closed → Mon 23, Tue 24
    assert _window(date(2026, 11, 20), WEEKDAYS) == [date(2026, 11, 23), date(2026, 11, 24)]


def test_window_not_extended_when_weekend_clinic_runs() -> None:
    opening = WeeklyOpening(CAL, frozenset(range(7)), weekend_clinic=True)
    assert _window(date(2026, 11, 20), opening) == [date(2026, 11, 21), date(2026, 11, 22)]


def test_window_extends_over_national_day_holiday() -> None:
    # Wed 30 Sep 2026; 1-7 Oct holiday → Thu 8, Fri 9 Oct
    assert _window(date(2026, 9, 30), WEEKDAYS) == [date(2026, 10, 8), date(2026, 10, 9)]
    assert d.last_valid_day(P, date(2026, 9, 30), WEEKDAYS.is_open) == date(2026, 10, 9)


def test_window_holiday_clinic_does_not_extend() -> None:
    opening = WeeklyOpening(CAL, frozenset(range(7)), weekend_clinic=True, holiday_clinic=True)
    assert _window(date(2026, 9, 30), opening) == [date(2026, 10, 1), date(2026, 10, 2)]


def test_window_counts_make_up_working_day() -> None:
    # Fri 9 Oct 2026; Sat 10 Oct is a make-up working day (open); Sun 11 closed → Mon 12
    assert _window(date(2026, 10, 9), WEEKDAYS) == [date(2026, 10, 10), date(2026, 10, 12)]


def test_window_department_closed_on_some_weekdays() -> None:
    no_wednesday = WeeklyOpening(CAL, frozenset({0, 1, 3, 4}))
    assert _window(date(2026, 11, 17), no_wednesday) == [date(2026, 11, 19), date(2026, 11, 20)]


def test_window_length_is_policy() -> None:
    five = Policy(three_day_days=5)
    assert len(_window(date(2026, 11, 16), WEEKDAYS, five)) == 4


@pytest.mark.parametrize(
    ("clinic", "level", "public", "ok"),
    [
        ("ordinary", 3, True, True),
        ("ordinary", 2, True, True),
        ("ordinary", 1, True, False),  # community level
        ("ordinary", 3, False, False),  # private
        ("expert", 3, True, False),
        ("special", 3, True, False),
        ("mdt", 3, True, False),
        ("emergency", 3, True, False),
    ],
)
def test_qualifying_clinic_types_and_institutions(clinic: str, level: int, public: bool, ok: bool) -> None:
    assert (
        d.qualifies_three_day(P, clinic_type=clinic, institution_level=level, institution_public=public) is ok
    )


def _reg(**kw: object) -> d.RegistrationFacts:
    base: dict[str, object] = dict(
        first_day=date(2026, 9, 30),
        institution_id=1,
        campus_id=10,
        department_id=100,
        qualifies=True,
        returns_used=0,
        episode_closed=False,
    )
    base.update(kw)
    return d.RegistrationFacts(**base)  # type: ignore[arg-type]


def _check(reg: d.RegistrationFacts, day: date, **kw: int | None) -> d.ReturnRefusal | None:
    where: dict[str, int | None] = {"institution_id": 1, "campus_id": 10, "department_id": 100}
    where.update(kw)
    return d.check_return_visit(
        P,
        reg,
        visit_day=day,
        institution_id=where["institution_id"] or 0,
        campus_id=where["campus_id"],
        department_id=where["department_id"] or 0,
        department_open=WEEKDAYS.is_open,
    )


def test_return_visit_rules() -> None:
    reg = _reg()
    assert _check(reg, date(2026, 10, 8)) is None
    assert _check(reg, date(2026, 10, 9)) is None
    assert _check(reg, date(2026, 10, 10)) == d.ReturnRefusal.EXPIRED  # make-up day after window
    assert _check(reg, date(2026, 10, 3)) == d.ReturnRefusal.DEPARTMENT_CLOSED
    assert _check(reg, date(2026, 9, 30)) == d.ReturnRefusal.SAME_DAY
    assert _check(reg, date(2026, 10, 8), department_id=101) == d.ReturnRefusal.OTHER_DEPARTMENT
    assert _check(reg, date(2026, 10, 8), campus_id=11) == d.ReturnRefusal.OTHER_CAMPUS
    assert _check(reg, date(2026, 10, 8), institution_id=2) == d.ReturnRefusal.OTHER_INSTITUTION
    assert _check(_reg(returns_used=1), date(2026, 10, 8)) == d.ReturnRefusal.USED_UP
    assert _check(_reg(episode_closed=True), date(2026, 10, 8)) == d.ReturnRefusal.EPISODE_CLOSED
    assert _check(_reg(qualifies=False), date(2026, 10, 8)) == d.ReturnRefusal.NOT_QUALIFYING


def test_fee_by_clinic_type_and_title() -> None:
    assert d.registration_fee(P, "ordinary", "主任医师") == 1000
    assert d.registration_fee(P, "expert", "主任医师") == 4000
    assert d.registration_fee(P, "expert", "主治医师") == 2500
    assert d.registration_fee(Policy(fees={"ordinary": 700}), "ordinary", "") == 700


def test_release_time_and_days_ahead() -> None:
    day = date(2026, 11, 30)
    assert not d.is_released(P, day, datetime(2026, 11, 23, 6, 59))
    assert d.is_released(P, day, datetime(2026, 11, 23, 7, 0))
    later = Policy(release_time="08:30", release_days_ahead=14)
    assert d.release_at(later, day) == (date(2026, 11, 16), time(8, 30))


def test_booking_checks() -> None:
    now = datetime(2026, 11, 23, 9, 0)
    kw: dict[str, object] = dict(
        local_now=now,
        clinic_day=date(2026, 11, 24),
        slot_start=time(8, 0),
        online=True,
        same_doctor_session_bookings=0,
        bookings_that_day=0,
        no_show_days=[],
    )
    assert d.check_booking(P, **kw) is None  # type: ignore[arg-type]
    assert d.check_booking(P, **{**kw, "same_doctor_session_bookings": 1}) == d.BookingRefusal.DUPLICATE  # type: ignore[arg-type]
    assert d.check_booking(P, **{**kw, "bookings_that_day": 3}) == d.BookingRefusal.DAILY_LIMIT  # type: ignore[arg-type]
    assert d.check_booking(P, **{**kw, "clinic_day": date(2026, 12, 5)}) == d.BookingRefusal.NOT_RELEASED  # type: ignore[arg-type]
    assert d.check_booking(P, **{**kw, "clinic_day": date(2026, 11, 23)}) == d.BookingRefusal.PAST  # type: ignore[arg-type]
    shows = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert d.check_booking(P, **{**kw, "no_show_days": shows}) == d.BookingRefusal.NO_SHOW_BAN  # type: ignore[arg-type]
    # walk-in at the desk is not subject to the online ban
    assert d.check_booking(P, **{**kw, "no_show_days": shows, "online": False}) is None  # type: ignore[arg-type]


def test_no_show_ban_window_and_duration() -> None:
    three = [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert d.no_show_ban_until(P, three, date(2026, 11, 1)) == date(2026, 11, 30)
    assert d.no_show_ban_until(P, three, date(2026, 12, 1)) is None
    spread = [date(2026, 1, 1), date(2026, 5, 1), date(2026, 11, 1)]  # not within 90 days
    assert d.no_show_ban_until(P, spread, date(2026, 11, 2)) is None
    assert d.no_show_ban_until(P, three[:2], date(2026, 11, 1)) is None


def test_cancel_cutoff() -> None:
    day, at = date(2026, 11, 24), time(10, 0)
    assert d.can_cancel(P, local_now=datetime(2026, 11, 24, 8, 0), clinic_day=day, slot_start=at)
    assert not d.can_cancel(P, local_now=datetime(2026, 11, 24, 8, 1), clinic_day=day, slot_start=at)


def test_slice_session() -> None:
    slots = d.slice_session(time(8, 0), time(11, 30), 15, 4)
    assert len(slots) == 14 and slots[0].start == time(8, 0) and slots[-1].end == time(11, 30)
    with pytest.raises(ValueError):
        d.slice_session(time(9, 0), time(8, 0), 15, 4)


def _w(i: int, key: int, *, prio: bool = False, ret: bool = False) -> d.Waiting:
    return d.Waiting(entry_id=i, sort_key=key, priority=prio, is_return=ret)


def test_queue_interleaves_returns_after_two_firsts() -> None:
    waiting = [
        _w(1, 1000),
        _w(2, 2000, ret=True),
        _w(3, 3000),
        _w(4, 4000),
        _w(5, 5000, ret=True),
        _w(6, 6000),
    ]
    order: list[int] = []
    counter = 0
    while waiting:
        nxt = d.pick_next(P, waiting, counter)
        assert nxt is not None
        order.append(nxt.entry_id)
        counter = d.after_call_counter(nxt, counter)
        waiting = [w for w in waiting if w.entry_id != nxt.entry_id]
    assert order == [1, 3, 2, 4, 6, 5]


def test_queue_priority_first_and_empty() -> None:
    assert d.pick_next(P, [], 0) is None
    nxt = d.pick_next(P, [_w(1, 1000), _w(2, 2000, prio=True)], 0)
    assert nxt is not None and nxt.entry_id == 2
    assert d.is_priority(P, age=70, groups=[]) and d.is_priority(P, age=30, groups=["军人"])
    assert not d.is_priority(P, age=69, groups=["其他"])


def test_skip_rejoins_after_n_places() -> None:
    keys = [2000, 3000, 4000, 5000, 6000]
    key = d.rejoin_key(P, keys)
    assert sorted([*keys, key]).index(key) == 3
    assert d.rejoin_key(P, [2000]) == 3000


def test_policy_roundtrip_and_validation() -> None:
    p = Policy.from_dict(P.to_dict())
    assert p == P
    with pytest.raises(ValueError):
        Policy.from_dict({"release_time": "7点"})
    with pytest.raises(ValueError):
        Policy.from_dict({"unknown": 1})
    with pytest.raises(ValueError):
        Policy.from_dict({"hold_minutes": 0})


def test_places_ahead_leave_out_slices_already_begun() -> None:
    from yilian.scheduling.domain import places_ahead

    day = date(2026, 5, 7)
    slots = [(time(8, 0), 5, 1), (time(8, 30), 5, 0), (time(9, 0), 5, 5), (time(9, 30), 5, 2)]
    assert places_ahead(day, slots, datetime(2026, 5, 7, 7, 0)) == 4 + 5 + 0 + 3
    assert places_ahead(day, slots, datetime(2026, 5, 7, 8, 30)) == 3  # 08:00 and 08:30 have begun
    assert places_ahead(day, slots, datetime(2026, 5, 6, 23, 0)) == 12  # the day before: all ahead
    assert places_ahead(day, slots, datetime(2026, 5, 7, 12, 0)) == 0
