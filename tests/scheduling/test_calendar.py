"""The holiday calendar as data: seeded from the package, edited by the admin, read by generation and the
06:00 job; years the package does not cover (2027, 2028) fall back to weekends with a warning."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.builders import bearer, make_department, make_institution, make_patient, make_user
from yilian.areas import area_modules
from yilian.kit import jobs
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.clock import BUSINESS_TZ, FrozenClock, use_clock
from yilian.kit.db import unit_of_work
from yilian.kit.errors import Forbidden, InvalidInput
from yilian.kit.jobs import JobRun
from yilian.registry.models import Institution
from yilian.scheduling import domain
from yilian.scheduling import repository as repo
from yilian.scheduling import service as svc
from yilian.scheduling.cli import app as scheduling_cli
from yilian.scheduling.errors import CalendarDayNotFound
from yilian.scheduling.models import CalendarDay, Schedule

ADMIN = Actor.system("calendar-admin")
PACKAGE_YEARS = sorted(domain.package_calendar())


def _weekday_templates(session: Session, inst: Institution) -> int:
    """Monday–Friday morning clinics of one department; returns the department id."""
    dept = make_department(session, institution=inst)
    for weekday in range(5):
        svc.save_template(session, ADMIN, department_id=dept.id, weekday=weekday, period="am")
    return dept.id


def _clinic_days(session: Session, department_id: int) -> list[date]:
    return [s.day for s in repo.schedules(session, department_id=department_id)]


def _at(day: date, hour: int = 9, minute: int = 0) -> FrozenClock:
    return FrozenClock(datetime(day.year, day.month, day.day, hour, minute, tzinfo=BUSINESS_TZ))


def test_the_package_covers_no_year_after_2026() -> None:
    # the premise of the 2027/2028 tests below; a newer package with 2027 would move them a year on
    assert PACKAGE_YEARS[-1] == 2026 and 2027 not in PACKAGE_YEARS


def test_seed_is_idempotent_and_never_touches_stored_years(session: Session) -> None:
    svc.seed_holiday_calendar(session)
    assert svc.seed_holiday_calendar(session) == []
    stored = {y.year: y for y in repo.calendar_years(session)}
    assert set(PACKAGE_YEARS) <= set(stored) and all(stored[y].complete for y in PACKAGE_YEARS)
    total = sum(len(h) + len(m) for h, m in domain.package_calendar().values())
    assert session.scalar(select(func.count()).select_from(CalendarDay)) == total
    cal = svc.holiday_calendar(session, date(2026, 1, 1), date(2026, 12, 31))
    assert cal.kind(date(2026, 10, 1)) == "holiday" and cal.name(date(2026, 10, 1)) == "国庆节"
    assert cal.kind(date(2026, 10, 10)) == "makeup" and cal.name(date(2026, 2, 17)) == "春节"
    # the admin changes 2026; importing again leaves the change alone
    svc.set_calendar_day(session, ADMIN, day=date(2026, 10, 8), kind="holiday", name="国庆节")
    svc.remove_calendar_day(session, ADMIN, date(2026, 10, 10))
    assert svc.seed_holiday_calendar(session) == []
    cal = svc.holiday_calendar(session, date(2026, 10, 1), date(2026, 10, 31))
    assert cal.kind(date(2026, 10, 8)) == "holiday" and cal.kind(date(2026, 10, 10)) == "weekend"


def test_edits_are_validated_and_need_the_manage_permission(session: Session) -> None:
    with pytest.raises(InvalidInput, match="周六或周日"):
        svc.set_calendar_day(session, ADMIN, day=date(2027, 1, 4), kind="makeup")  # a Monday
    with pytest.raises(InvalidInput, match="类型"):
        svc.set_calendar_day(session, ADMIN, day=date(2027, 1, 4), kind="weekend")
    with pytest.raises(InvalidInput, match="年份"):
        svc.set_calendar_day(session, ADMIN, day=date(2101, 1, 1), kind="holiday")
    with pytest.raises(InvalidInput, match="控制字符"):
        svc.set_calendar_day(session, ADMIN, day=date(2027, 1, 1), kind="holiday", name="元\x00旦")
    with pytest.raises(InvalidInput, match="年份"):  # never an overflow past date.max
        svc.generate_schedules(session, ADMIN, 1, start=date(9999, 12, 31), days=14)
    with pytest.raises(CalendarDayNotFound):
        svc.remove_calendar_day(session, ADMIN, date(2027, 3, 3))
    doctor = Actor(user_id=None, username="doc", role=Role.DOCTOR, institution_id=1)
    with pytest.raises(Forbidden):
        svc.set_calendar_day(session, doctor, day=date(2027, 1, 1), kind="holiday")
    with pytest.raises(Forbidden):
        svc.set_calendar_year_complete(session, doctor, 2027, True)


def test_generation_into_2027_falls_back_to_weekends_and_honours_the_admins_days(session: Session) -> None:
    inst = make_institution(session, level=3)
    dept_id = _weekday_templates(session, inst)
    start = date(2026, 12, 28)  # Monday; 2027-01-01 is a Friday
    with use_clock(_at(date(2026, 12, 20), 6, 1)):
        result = svc.generate_schedules(session, ADMIN, inst.id, start=start, days=14)
    assert result.missing_years == (2027,)
    assert result.warning is not None and "2027年" in result.warning and "周六、周日" in result.warning
    days = _clinic_days(session, dept_id)
    assert date(2027, 1, 1) in days  # no data: New Year's Day is an ordinary Friday
    assert not [d for d in days if d.weekday() >= 5] and len(days) == 10

    # the admin enters New Year's Day and a make-up Saturday; the next weeks follow them
    svc.set_calendar_day(session, ADMIN, day=date(2027, 1, 15), kind="holiday", name="元旦")
    svc.set_calendar_day(session, ADMIN, day=date(2027, 1, 16), kind="makeup", name="元旦")
    with use_clock(_at(date(2027, 1, 4))):
        result = svc.generate_schedules(session, ADMIN, inst.id, start=date(2027, 1, 11), days=14)
    later = [d for d in _clinic_days(session, dept_id) if d >= date(2027, 1, 11)]
    assert date(2027, 1, 15) not in later  # the admin's holiday (a Friday) closes the weekday clinic
    assert date(2027, 1, 16) in later  # the make-up Saturday runs the Monday clinic
    assert len(later) == 10 and result.missing_years == (2027,)  # entered, but not marked complete

    info = svc.set_calendar_year_complete(session, ADMIN, 2027, True)
    assert info.complete and info.warning is None and info.holidays == 1 and info.makeup_days == 1
    again = svc.generate_schedules(session, ADMIN, inst.id, start=date(2027, 1, 11), days=14)
    assert again.created == 0 and again.missing_years == () and again.warning is None


def test_generation_in_2028_works_on_weekends_across_the_leap_day(session: Session) -> None:
    inst = make_institution(session, level=3)
    dept_id = _weekday_templates(session, inst)
    with use_clock(_at(date(2028, 2, 25))):
        result = svc.generate_schedules(session, ADMIN, inst.id, start=date(2028, 2, 26), days=7)
    assert result.created == 5 and result.missing_years == (2028,) and "2028年" in (result.warning or "")
    assert _clinic_days(session, dept_id) == [date(2028, 2, 28), date(2028, 2, 29)] + [
        date(2028, 3, d) for d in (1, 2, 3)
    ]


def test_three_day_window_extends_over_an_admin_entered_holiday_in_2028(session: Session) -> None:
    """The 顺延 of 一号管三天 follows the table: the service's window is the department's generated clinics."""
    inst = make_institution(session, level=3)
    dept_id = _weekday_templates(session, inst)
    svc.set_calendar_day(session, ADMIN, day=date(2028, 3, 7), kind="holiday", name="测试假日")
    clock = _at(date(2028, 3, 6), 8, 0)
    with use_clock(clock):
        svc.generate_schedules(session, ADMIN, inst.id, start=date(2028, 3, 6), days=14)
        first = next(s for s in repo.schedules(session, department_id=dept_id) if s.day == date(2028, 3, 6))
        patient = make_patient(session)
        slot = repo.slots_of(session, first.id)[-1]
        booking = svc.book(session, ADMIN, slot_id=slot.id, patient_id=patient.id, channel="desk")
        booking = svc.confirm(session, ADMIN, booking.id, payment_method="desk")
    # Mon 6 Mar first visit; Tue 7 Mar entered as a holiday → Wed 8, Thu 9
    assert booking.qualifies_three_day and booking.valid_until == date(2028, 3, 9)
    cal = svc.holiday_calendar(session, date(2028, 3, 6), date(2028, 3, 31))
    opening = domain.WeeklyOpening(cal)
    assert domain.three_day_window(domain.Policy(), date(2028, 3, 6), opening.is_open) == [
        date(2028, 3, 8),
        date(2028, 3, 9),
    ]


def test_the_0600_job_keeps_generating_into_2027_and_2028(
    factory: sessionmaker[Session],  # noqa: F811  (the fixture of tests/kit/test_jobs.py)
) -> None:
    area_modules("tasks")
    with unit_of_work(factory) as s:
        inst = make_institution(s, level=3)
        dept_id = _weekday_templates(s, inst)
    for day in (date(2026, 12, 20), date(2027, 6, 1), date(2028, 12, 25)):
        with use_clock(_at(day, 6, 1)):
            assert "scheduling.generate" in jobs.run_due(factory)
        with factory() as s:
            run = s.get(JobRun, ("scheduling.generate", day.isoformat()))
            assert run is not None and not run.failed, run and run.outcome
            assert "新生成排班 10 个" in run.outcome
            years = sorted({day.year, (day + timedelta(days=13)).year} - set(PACKAGE_YEARS))
            assert all(f"{y}年" in run.outcome for y in years)
            made = [d for d in _clinic_days(s, dept_id) if day <= d < day + timedelta(days=14)]
            assert len(made) == 10 and all(d.weekday() < 5 for d in made)
    with factory() as s:  # the package's years were imported at first use by the job
        assert {y.year for y in repo.calendar_years(s)} == set(PACKAGE_YEARS)
        assert s.scalar(select(func.count()).select_from(Schedule)) == 30


def test_calendar_over_http_with_permissions(client: TestClient, session: Session) -> None:
    with use_clock(_at(date(2027, 11, 20))):  # the State Council publishes 2028 about now
        _calendar_over_http(client, session)


def _calendar_over_http(client: TestClient, session: Session) -> None:
    inst = make_institution(session, level=3)
    dept_id = _weekday_templates(session, inst)
    admin = bearer(client, make_user(session, role=Role.ADMIN, institution=inst))
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=inst))
    patient = bearer(client, make_user(session, role=Role.PATIENT, patient=make_patient(session)))
    base = "/api/v1/scheduling/calendar"

    years = client.get(base, headers=doctor)
    assert years.status_code == 200
    by_year = {y["year"]: y for y in years.json()}
    assert by_year[2027]["stored"] is False and "2027年" in by_year[2027]["warning"]
    assert by_year[2029]["warning"]  # (the command test may have stored 2029, never complete)

    r = client.post(
        f"/api/v1/scheduling/institutions/{inst.id}/generate",
        json={"start": "2027-12-27", "days": 14},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 10 and r.json()["missing_years"] == [2027, 2028]
    assert "2027年、2028年" in r.json()["warning"]

    day = "/api/v1/scheduling/calendar/days/2028-01-03"
    for who in (doctor, patient):
        refused = client.put(day, json={"kind": "holiday", "name": "元旦"}, headers=who)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith(
            "application/problem"
        )
    saved = client.put(day, json={"kind": "holiday", "name": "元旦"}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json() | {"updated_by": ""} == {
        "day": "2028-01-03",
        "year": 2028,
        "kind": "holiday",
        "name": "元旦",
        "source": "admin",
        "updated_by": "",
        "schedules_on_day": 1,  # generated before the holiday was entered: left to the admin to stop
    }
    assert date(2028, 1, 3) in _clinic_days(session, dept_id)
    bad = client.put(
        "/api/v1/scheduling/calendar/days/2028-01-04", json={"kind": "makeup"}, headers=admin
    )  # a Tuesday
    assert bad.status_code == 400 and bad.json()["title"] == "输入数据不合法"
    assert client.put(day, json={"kind": "weekend"}, headers=admin).status_code == 422

    detail = client.get(f"{base}/2028", headers=doctor).json()
    assert [d["day"] for d in detail["days"]] == ["2028-01-03"] and detail["warning"]
    done = client.put(f"{base}/2028", json={"complete": True}, headers=admin)
    assert done.status_code == 200 and done.json()["warning"] is None and done.json()["holidays"] == 1
    assert client.put(f"{base}/2028", json={"complete": True}, headers=doctor).status_code == 403
    assert client.get(f"{base}/99999", headers=doctor).status_code == 422
    assert client.get(f"{base}/2026", headers=doctor).status_code == 200

    assert client.delete(day, headers=doctor).status_code == 403
    assert client.delete(day, headers=admin).status_code == 204
    missing = client.delete(day, headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "calendar_day_not_found"


@pytest.fixture
def late_2028() -> object:
    """The clock in late December 2028, so that January 2029 is within the generation window."""
    with use_clock(FrozenClock(datetime(2028, 12, 20, 1, 0, tzinfo=BUSINESS_TZ))):
        yield


def test_calendar_and_generate_commands(engine: object, late_2028: object) -> None:
    runner = CliRunner()
    with unit_of_work() as s:
        inst = make_institution(s, level=3)
        _weekday_templates(s, inst)
    out = runner.invoke(
        scheduling_cli, ["generate", "--start", "2029-01-01", "--days", "7", "--institution", str(inst.id)]
    )
    assert out.exit_code == 0, out.output
    assert "新生成排班 5 个" in out.output and "2029年" in out.output
    try:
        out = runner.invoke(scheduling_cli, ["calendar", "set", "2029-01-01", "--name", "元旦"])
        assert out.exit_code == 0 and "法定节假日 元旦" in out.output and "已生成 1 个排班" in out.output
        bad = runner.invoke(scheduling_cli, ["calendar", "set", "2029-01-02", "--kind", "makeup"])
        assert bad.exit_code == 2 and "周六或周日" in bad.output
        shown = runner.invoke(scheduling_cli, ["calendar", "show", "2029"])
        assert "2029-01-01 holiday 元旦" in shown.output and "2029年" in shown.output
        window = runner.invoke(scheduling_cli, ["window", "2028-12-29"])  # Fri; 1 Jan 2029 entered
        assert window.output.split()[:4] == ["2029-01-02", "workday", "2029-01-03", "workday"]
        assert runner.invoke(scheduling_cli, ["calendar", "complete", "2029"]).exit_code == 0
        listed = runner.invoke(scheduling_cli, ["calendar", "show"])
        assert "2029 已录入完整 节假日 1 天" in listed.output
    finally:
        runner.invoke(scheduling_cli, ["calendar", "remove", "2029-01-01"])
        runner.invoke(scheduling_cli, ["calendar", "complete", "2029", "--undo"])
