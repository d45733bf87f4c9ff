"""Demo data: weekly templates (排班模板) for the demo hospitals, schedules generated from them from a
week back to 13 days ahead, some places booked, and a few first visits with their free return visit.

Each hospital department's first doctor holds an ordinary (普通) clinic every working-day morning; the
``doctor`` demo user is the general hospital's first doctor. The department of each hospital's first
doctor is left without demo bookings and queue entries, so a trainer (or a browser test) starts from
an empty queue there. The community centre of ``doctor2`` opens every day; today a few patients are
checked in to its first doctor's clinic, so community care can be shown on the demo's first day.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy.orm import Session

from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.scheduling import repository as repo
from yilian.scheduling import service
from yilian.scheduling.domain import QueueStatus, ScheduleStatus
from yilian.scheduling.models import Schedule

DEMO_ACTOR = Actor.system("demo-scheduling")
MAX_DEPARTMENTS_PER_INSTITUTION = 6
BOOKED_SHARE = 0.25  # about a quarter of the places of the coming week are taken
RETURN_VISITS = 6
COMMUNITY_CLINICS = ("CCCD",)  # the community centre of the ``doctor2`` demo user
COMMUNITY_WAITING = 3


def _templates(session: Session, institution_id: int, *, every_day: bool = False) -> None:
    """Weekly templates; ``every_day``: a community centre's clinic opens seven days a week, holidays too."""
    depts, _ = registry.list_departments(session, institution_id=institution_id)
    clinical = [d for d in depts if d.is_clinical and d.is_active][:MAX_DEPARTMENTS_PER_INSTITUTION]
    for n, dept in enumerate(clinical):
        doctors, _ = registry.list_practitioners(session, department_id=dept.id, limit=4)
        if not doctors:
            continue
        for weekday in range(7 if every_day else 5):
            service.save_template(
                session, DEMO_ACTOR, department_id=dept.id, weekday=weekday, period="am",
                practitioner_id=doctors[0].id, on_holidays=every_day,
            )  # fmt: skip
            pm = doctors[(weekday + 1) % len(doctors)]
            senior = pm.title in ("主任医师", "副主任医师")
            service.save_template(
                session, DEMO_ACTOR, department_id=dept.id, weekday=weekday, period="pm",
                practitioner_id=pm.id, clinic_type="expert" if senior and not every_day else "ordinary",
                on_holidays=every_day,
            )  # fmt: skip
        if (
            n == 1 and not every_day
        ):  # one department per hospital runs a Saturday morning clinic, holidays included
            service.save_template(
                session, DEMO_ACTOR, department_id=dept.id, weekday=5, period="am",
                practitioner_id=doctors[-1].id, on_holidays=True,
            )  # fmt: skip


def _first_doctors_department(session: Session, institution_id: int) -> int | None:
    """The department of the institution's first doctor (the ``doctor`` demo user at the general
    hospital), kept free of demo bookings and queue entries."""
    first, _ = registry.list_practitioners(session, institution_id=institution_id, limit=1)
    if not first:
        return None
    depts, _ = registry.list_departments(session, institution_id=institution_id)
    for dept in depts:
        doctors, _ = registry.list_practitioners(session, department_id=dept.id, limit=50)
        if any(d.id == first[0].id for d in doctors):
            return dept.id
    return None


def _book_some(
    session: Session,
    rng: random.Random,
    schedules: list[Schedule],
    patients: list[int],
    per_day: dict[date, int],
) -> int:
    """Book some places; at most a quarter as many a day as there are patients, so that every patient
    keeps room under the daily limit."""
    booked = 0
    for sched in schedules:
        if per_day.get(sched.day, 0) >= len(patients) // 4:
            continue
        for slot in repo.slots_of(session, sched.id):
            want = min(slot.capacity - 1, sum(rng.random() < BOOKED_SHARE for _ in range(slot.capacity)))
            for _ in range(want):
                patient_id = rng.choice(patients)
                try:
                    b = service.book(
                        session, DEMO_ACTOR, slot_id=slot.id, patient_id=patient_id, channel="desk"
                    )
                    b.channel = rng.choice(("online", "online", "desk"))
                    service.confirm(session, DEMO_ACTOR, b.id, payment_method=rng.choice(("phone", "kiosk")))
                    booked += 1
                    per_day[sched.day] = per_day.get(sched.day, 0) + 1
                except YilianError:
                    continue  # the patient's own limits: try someone else next time
    return booked


def _return_visits(session: Session, rng: random.Random, earlier: list[Schedule], patients: list[int]) -> int:
    """First visits of the past days with their free return visit (一号管三天) on a later day up to today;
    past visits leave the queue as seen."""
    today = business_date()
    made = 0
    for sched in earlier:
        if made >= RETURN_VISITS:
            break
        later = [
            s
            for s in repo.schedules(
                session, department_id=sched.department_id, days=(sched.day + timedelta(days=1), today)
            )
            if s.status == ScheduleStatus.OPEN
        ]
        if not later:
            continue
        slot = repo.slots_of(session, sched.id)[0]
        try:
            b = service.book(
                session, DEMO_ACTOR, slot_id=slot.id, patient_id=rng.choice(patients), channel="desk"
            )
            service.confirm(session, DEMO_ACTOR, b.id, payment_method="desk")
            entry = service.return_visit(session, DEMO_ACTOR, b.id, schedule_id=later[0].id, day=later[0].day)
        except YilianError:
            continue
        if later[0].day < today:
            entry.status = QueueStatus.DONE.value
        made += 1
    return made


def _community_queue(session: Session, rng: random.Random, institution_id: int, patients: list[int]) -> int:
    """Today at the community centre (the ``doctor2`` demo user's): a few patients registered at the desk
    and checked in to the first doctor's latest clinic of the day, so that he can call the next one."""
    today = business_date()
    first, _ = registry.list_practitioners(session, institution_id=institution_id, limit=1)
    if not first:
        return 0
    todays = repo.schedules(session, institution_id=institution_id, days=(today, today))
    mine = sorted(
        (s for s in todays if s.practitioner_id == first[0].id), key=lambda s: s.period, reverse=True
    )
    if not mine:
        return 0
    waiting = 0
    for slot in repo.slots_of(session, mine[0].id):
        if waiting >= COMMUNITY_WAITING:
            break
        try:
            b = service.book(
                session, DEMO_ACTOR, slot_id=slot.id, patient_id=rng.choice(patients), channel="desk"
            )
            service.confirm(session, DEMO_ACTOR, b.id, payment_method="desk")
            service.check_in(session, DEMO_ACTOR, b.id)
        except YilianError:
            continue
        waiting += 1
    return waiting


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    rng = random.Random(seed_value)
    today = business_date()
    institutions, _ = registry.list_institutions(session, limit=200)
    hospitals = [i for i in institutions if i.level >= 2]
    community = [i for i in institutions if i.code in COMMUNITY_CLINICS]
    patients = [p.id for p in registry.search_patients(session, DEMO_ACTOR, limit=500)[0]]
    n_sched = n_booked = n_returns = n_waiting = 0
    per_day: dict[date, int] = {}
    calendar_years = service.seed_holiday_calendar(session)  # the package's years into the calendar table
    for inst in community:
        service.set_policy(session, DEMO_ACTOR, inst.id, {})  # store the defaults
        _templates(session, inst.id, every_day=True)
        n_sched += service.generate_schedules(session, DEMO_ACTOR, inst.id, start=today, days=31).created
        n_waiting += _community_queue(session, rng, inst.id, patients)
    for inst in hospitals:
        service.set_policy(session, DEMO_ACTOR, inst.id, {})  # store the defaults
        _templates(session, inst.id)
        # from a week back, so that a first visit a few days ago can come back today (一号管三天)
        n_sched += service.generate_schedules(
            session, DEMO_ACTOR, inst.id, start=today - timedelta(days=7), days=21
        ).created
        first_dept = _first_doctors_department(session, inst.id)
        window = repo.schedules(session, institution_id=inst.id, days=(today, today + timedelta(days=6)))
        coming = [s for s in window if s.department_id != first_dept]
        n_booked += _book_some(session, rng, coming, patients, per_day)
        earlier = [
            s
            for s in repo.schedules(session, institution_id=inst.id, days=(today - timedelta(days=6), today))
            if s.day < today and s.department_id != first_dept and s.clinic_type == "ordinary"
        ]
        rng.shuffle(earlier)
        n_returns += _return_visits(session, rng, earlier, patients)
    calendar = f"{calendar_years[0]}–{calendar_years[-1]} 年" if calendar_years else "已载入"
    return (
        f"节假日日历 {calendar}，"
        f"排班 {n_sched} 个（{len(hospitals)} 家医院按模板生成今天前 7 天至后 13 天，"
        f"{len(community)} 家社区卫生服务中心每天开诊、生成 31 天），"
        f"已预约 {n_booked} 个，一号管三天复诊 {n_returns} 人次，社区门诊今日候诊 {n_waiting} 人"
    )
