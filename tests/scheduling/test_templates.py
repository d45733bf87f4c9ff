"""Weekly templates (排班模板) and schedules generated from them on the Chinese calendar."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from tests.builders import make_department, make_institution, make_practitioner
from tests.scheduling.helpers import patient_actor
from yilian.kit.auth.domain import Actor
from yilian.kit.errors import Forbidden, InvalidInput
from yilian.scheduling import domain
from yilian.scheduling import repository as repo
from yilian.scheduling import service as svc

ADMIN = Actor.system("test-admin")
P = domain.Policy()


@pytest.mark.parametrize(
    ("day", "weekday", "on_holidays", "runs"),
    [
        (date(2026, 9, 21), 0, False, True),  # an ordinary Monday runs Monday rows
        (date(2026, 9, 21), 1, False, False),
        (date(2026, 9, 19), 5, False, True),  # an ordinary Saturday runs its weekend clinic
        (date(2026, 10, 1), 3, False, False),  # National Day (a Thursday): no ordinary clinic
        (date(2026, 10, 1), 3, True, True),  # … unless the row runs on holidays
        (date(2026, 9, 25), 4, False, False),  # Mid-autumn Festival falls on a Friday in 2026
        (date(2026, 10, 10), 0, False, True),  # make-up Saturday (调休上班) runs the Monday rows
        (date(2026, 10, 10), 5, False, True),  # … and its own weekend clinic
        (date(2026, 10, 10), 2, False, False),
        (date(2026, 9, 20), 0, False, True),  # make-up Sunday
    ],
)
def test_template_runs_on_the_chinese_calendar(
    day: date, weekday: int, on_holidays: bool, runs: bool
) -> None:
    cal = domain.HolidayCalendar.from_years(domain.package_calendar())
    assert domain.template_runs_on(P, cal, weekday=weekday, on_holidays=on_holidays, day=day) is runs


def test_generate_from_templates_follows_holidays_and_is_idempotent(session: Session) -> None:
    inst = make_institution(session, level=3)
    dept = make_department(session, institution=inst)
    doc = make_practitioner(session, institution=inst, department=dept)
    for weekday in range(5):
        svc.save_template(
            session, ADMIN, department_id=dept.id, weekday=weekday, period="am", practitioner_id=doc.id
        )
    svc.save_template(session, ADMIN, department_id=dept.id, weekday=5, period="am", on_holidays=True)
    # 2026-09-28 (Mon) … 2026-10-11 (Sun): National Day week, make-up Saturday 10-10
    made = svc.generate_schedules(session, ADMIN, inst.id, start=date(2026, 9, 28), days=14).created
    days = [(s.day, s.practitioner_id) for s in repo.schedules(session, department_id=dept.id)]
    doctor_days = [d for d, p in days if p == doc.id]
    assert doctor_days == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),  # make-up working day: the Monday clinic
    ]
    weekend_days = [d for d, p in days if p is None]
    # the Saturday clinic runs on Saturday 10-03 (a holiday, but marked on_holidays) and 10-10
    assert weekend_days == [date(2026, 10, 3), date(2026, 10, 10)]
    assert made == len(days) == 8
    again = svc.generate_schedules(session, ADMIN, inst.id, start=date(2026, 9, 28), days=14)
    assert again.created == 0 and again.warning is None


def test_save_template_replaces_the_same_row_and_validates(session: Session) -> None:
    inst = make_institution(session, level=3)
    dept = make_department(session, institution=inst)
    first = svc.save_template(session, ADMIN, department_id=dept.id, weekday=2, period="pm")
    again = svc.save_template(
        session, ADMIN, department_id=dept.id, weekday=2, period="pm", clinic_type="expert", slice_capacity=6
    )
    assert again.id == first.id and again.clinic_type == "expert"
    assert len(svc.list_templates(session, inst.id)) == 1
    with pytest.raises(InvalidInput, match="星期"):
        svc.save_template(session, ADMIN, department_id=dept.id, weekday=7, period="pm")
    with pytest.raises(InvalidInput, match="号别"):
        svc.save_template(session, ADMIN, department_id=dept.id, weekday=1, period="pm", clinic_type="vip")
    with pytest.raises(InvalidInput, match="生成天数"):
        svc.generate_schedules(session, ADMIN, inst.id, start=date(2026, 9, 28), days=0)
    with pytest.raises(Forbidden):
        svc.save_template(session, patient_actor(1), department_id=dept.id, weekday=1, period="am")
    svc.delete_template(session, ADMIN, first.id)
    assert svc.list_templates(session, inst.id) == []
