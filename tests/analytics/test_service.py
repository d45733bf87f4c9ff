"""Computation against a small hand-built fixture, access, and consistency with the areas' own indicator
functions on the demo alliance."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, actor_of, make_department, make_institution, make_patient, make_user
from yilian.analytics import service
from yilian.analytics.domain import Month
from yilian.kit.auth.domain import Role
from yilian.kit.clock import UTC, business_date
from yilian.kit.errors import Forbidden
from yilian.outpatient.models import Encounter
from yilian.registry.domain import InstitutionCategory
from yilian.results.models import Prompt, RecognitionDecision

SEPT = Month(2026, 9)


def _visit(session: Session, patient_id: int, inst: int, dept: int, day: date) -> None:
    session.add(
        Encounter(
            patient_id=patient_id,
            institution_id=inst,
            department_id=dept,
            business_date=day,
            status="closed",
            opened_at=datetime(day.year, day.month, day.day, 1, tzinfo=UTC),
        )
    )


def _prompt(
    session: Session, patient_id: int, inst: int, dept: int, day: date, decision: str, saved: int
) -> None:
    p = Prompt(
        patient_id=patient_id,
        institution_id=inst,
        department_id=dept,
        item_code="HBA1C",
        business_date=day,
        candidate_ids="1",
        created_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
    )
    session.add(p)
    session.flush()
    if decision:
        session.add(
            RecognitionDecision(
                prompt_id=p.id,
                decision=decision,
                fee_saved_fen=saved,
                decided_at=datetime(day.year, day.month, day.day, 3, tzinfo=UTC),
            )
        )


@pytest.fixture
def world(session: Session) -> dict[str, int]:
    hosp = make_institution(session, name="甲医院")
    centre = make_institution(
        session, name="乙社区中心", category=InstitutionCategory.COMMUNITY_CENTRE, level=1
    )
    cardio = make_department(session, institution=hosp, name="心内科")
    endo = make_department(session, institution=hosp, name="内分泌科")
    general = make_department(session, institution=centre, name="全科")
    pat = make_patient(session).id
    # September: hospital 3 cardiology + 2 endocrinology visits, centre 5 general visits; October 4 at
    # the centre; August 1 at the hospital (outside the range)
    for d in (1, 2, 30):
        _visit(session, pat, hosp.id, cardio.id, date(2026, 9, d))
    for d in (5, 6):
        _visit(session, pat, hosp.id, endo.id, date(2026, 9, d))
    for d in (1, 2, 3, 4, 5):
        _visit(session, pat, centre.id, general.id, date(2026, 9, d))
    for d in (1, 2, 3, 4):
        _visit(session, pat, centre.id, general.id, date(2026, 10, d))
    _visit(session, pat, hosp.id, cardio.id, date(2026, 8, 31))
    # results: September, hospital cardiology: 2 recognised (3000 + 4500 fen), 1 refused, 1 undecided
    _prompt(session, pat, hosp.id, cardio.id, date(2026, 9, 3), "互认", 3000)
    _prompt(session, pat, hosp.id, cardio.id, date(2026, 9, 4), "互认", 4500)
    _prompt(session, pat, hosp.id, cardio.id, date(2026, 9, 4), "不互认", 0)
    _prompt(session, pat, hosp.id, cardio.id, date(2026, 9, 5), "", 0)
    session.flush()
    return {"hosp": hosp.id, "centre": centre.id, "cardio": cardio.id, "endo": endo.id}


def _by_code(figures: list[service.Figure]) -> dict[str, float | int | None]:
    return {f.indicator.code: f.value for f in figures}


def test_hand_computed_city_and_institution(session: Session, world: dict[str, int]) -> None:
    service.refresh(session, Month(2025, 8), Month(2026, 10), trigger="test")
    city = _by_code(service.figures(session, SYSTEM, SEPT, SEPT))
    assert city["visits"] == 10
    assert city["grassroots_share"] == 50.0  # 5 of 10
    assert city["results_recognised"] == 2
    assert city["recognition_rate"] == round(2 * 100 / 3, 2)
    assert city["results_fee_saved"] == 7500
    both = _by_code(service.figures(session, SYSTEM, SEPT, Month(2026, 10)))
    assert both["visits"] == 14
    hosp = _by_code(service.figures(session, SYSTEM, SEPT, SEPT, institution_id=world["hosp"]))
    assert hosp["visits"] == 5
    rows = service.breakdown(session, SYSTEM, "visits", SEPT, SEPT)
    assert [(r.key, r.value) for r in rows] == [(world["hosp"], 5), (world["centre"], 5)] or [
        (r.key, r.value) for r in rows
    ] == [(world["centre"], 5), (world["hosp"], 5)]
    depts = service.breakdown(session, SYSTEM, "visits", SEPT, SEPT, institution_id=world["hosp"])
    assert [(r.label, r.value) for r in depts] == [("心内科", 3), ("内分泌科", 2)]
    trend = service.trend(session, SYSTEM, "visits", Month(2026, 8), Month(2026, 10))
    assert [v for _m, v, _b in trend] == [1, 10, 4]


def test_refresh_is_idempotent_and_incremental(session: Session, world: dict[str, int]) -> None:
    service.refresh(session, SEPT, SEPT, trigger="test")
    service.refresh(session, SEPT, SEPT, trigger="test")
    assert _by_code(service.figures(session, SYSTEM, SEPT, SEPT))["visits"] == 10
    _visit(session, _any_patient(session), world["hosp"], world["cardio"], date(2026, 9, 9))
    session.flush()
    assert _by_code(service.figures(session, SYSTEM, SEPT, SEPT))["visits"] == 10  # not refreshed yet
    service.refresh(session, SEPT, SEPT, trigger="test")
    assert _by_code(service.figures(session, SYSTEM, SEPT, SEPT))["visits"] == 11


def _any_patient(session: Session) -> int:
    return make_patient(session, name="李四").id


def test_scope_of_each_role(session: Session, world: dict[str, int]) -> None:
    from yilian.registry import service as registry

    inst = registry.get_institution(session, world["hosp"])
    commission = actor_of(make_user(session, role=Role.COMMISSION))
    doctor = actor_of(make_user(session, role=Role.DOCTOR, institution=inst))
    service.figures(session, commission, SEPT, SEPT)
    service.figures(session, commission, SEPT, SEPT, institution_id=world["hosp"])
    with pytest.raises(Forbidden):
        service.figures(session, doctor, SEPT, SEPT)
    with pytest.raises(Forbidden):
        service.figures(session, doctor, SEPT, SEPT, institution_id=world["hosp"])
    assert not commission.is_staff and commission.institution_id is None
    assert not commission.permissions & {p for p in commission.permissions if p.value.startswith("patient")}


# ---------------------------------------------------------------- consistency with the areas


@pytest.mark.slow
def test_consistent_with_the_areas_own_indicators(session: Session) -> None:
    from yilian.billing import settlement as billing
    from yilian.demo.alliance import seed
    from yilian.inpatient import service as inpatient
    from yilian.registry import service as registry
    from yilian.results import service as results
    from yilian.scheduling import service as scheduling

    seed(session, patients=200)
    this = Month.of(business_date())
    service.refresh(session, this.shift(-2), this, trigger="test")
    today = business_date()
    checked = 0
    for m in (this.shift(-1), this):
        start, end = m.first, min(m.last, today)
        rec = {
            r["key"]: r
            for r in results.indicators(session, SYSTEM, group="institution", since=start, until=end)["rows"]
        }
        for inst in registry.list_institutions(session, limit=1000)[0]:
            mine = _by_code(service.figures(session, SYSTEM, m, m, institution_id=inst.id))
            s = scheduling.indicators(session, inst.id, start, end)
            assert mine["three_day_registrations"] == s.three_day_registrations
            assert mine["return_visits"] == s.return_visits
            assert mine["fees_waived"] == s.fees_waived_fen
            c = billing.credit_dashboard(session, SYSTEM, inst.id, start, end)
            assert mine["credit_visits"] == c.credit_visits
            assert mine["credit_beneficiaries"] == c.beneficiaries
            assert mine["credit_amount"] == c.credit_amount
            r = rec.get(inst.id)
            assert mine["results_recognised"] == (r["recognised"] if r else 0)
            assert mine["results_fee_saved"] == (r["fee_saved_fen"] if r else 0)
            beds = inpatient.bed_indicators(session, SYSTEM, inst.id, start, end)[0].values
            if beds.open_bed_days:
                assert mine["bed_occupancy"] == round(beds.occupancy * 100, 2)
                assert mine["average_stay"] == (
                    round(beds.average_length_of_stay, 2) if beds.discharges else None
                )
                assert mine["admissions"] == beds.admissions
                assert mine["preadmission_days_saved"] == beds.preadmission_days_saved
            checked += 1
    assert checked > 4
    city = _by_code(service.figures(session, SYSTEM, this.shift(-1), this))
    assert city["visits"] and city["visits"] > 0


# ---------------------------------------------------------------- distinct counts over any range


def _collection(seed: int, months: list[Month], skip: Month | None = None) -> service.Collector:
    """Random beneficiary keys (12 patients) over two institutions of two departments each."""
    import random

    rng = random.Random(seed)
    c = service.Collector()
    for m in months:
        if m == skip:
            continue
        for _ in range(rng.randint(0, 14)):
            inst = rng.choice((1, 2))
            c.key(m.first, inst, inst * 10 + rng.choice((1, 2)), "credit_beneficiaries", rng.randint(1, 12))
    return c


def _brute(keys: set[tuple[tuple[date, int, int], str, int]], a: Month, b: Month) -> dict[str, object]:
    """The distinct counts of a range computed from the keys themselves."""
    inside = [(k, v) for k, _m, v in keys if a.first <= k[0] <= b.first]
    by_inst: dict[int, set[int]] = {}
    by_dept: dict[int, set[int]] = {}
    by_month: dict[date, set[int]] = {}
    for (month, inst, dept), v in inside:
        by_inst.setdefault(inst, set()).add(v)
        by_dept.setdefault(dept, set()).add(v)
        by_month.setdefault(month, set()).add(v)
    return {
        "city": len({v for _k, v in inside}),
        "institution": {i: len(s) for i, s in by_inst.items()},
        "department": {d: len(s) for d, s in by_dept.items()},
        "month": {m: len(s) for m, s in by_month.items()},
    }


def _counted(session: Session, a: Month, b: Month) -> dict[str, object]:
    from yilian.analytics import repository as repo

    m = "credit_beneficiaries"

    def flat(by: dict[object, dict[str, int]]) -> dict[object, int]:
        return {k: v[m] for k, v in by.items() if v.get(m)}

    return {
        "city": repo.distinct_counts(session, a.first, b.first).get(None, {}).get(m, 0),
        "institution": flat(repo.distinct_counts(session, a.first, b.first, group="institution")),
        "department": {
            **flat(repo.distinct_counts(session, a.first, b.first, group="department", institution_id=1)),
            **flat(repo.distinct_counts(session, a.first, b.first, group="department", institution_id=2)),
        },
        "month": flat(repo.distinct_counts(session, a.first, b.first, group="month")),
    }


def test_distinct_counts_of_every_range_equal_the_keys_counted(session: Session) -> None:
    """A key counts once over any range and grain, also after one month in the middle is refreshed
    again with other keys (the later months' look-back follows)."""
    months = [Month(2025, 11).shift(i) for i in range(14)]
    first, last = months[0], months[-1]
    c = _collection(7, months)
    service.refresh(session, first, last, trigger="test", collected=c)
    middle = months[5]
    again = _collection(8, [middle])
    service.refresh(session, middle, middle, trigger="test", collected=again)
    keys = {k for k in c.keys if k[0][0] != middle.first} | again.keys
    assert len(keys) > 50
    checked = 0
    for i, a in enumerate(months):
        for b in months[i:]:
            assert _counted(session, a, b) == _brute(keys, a, b), (a, b)
            checked += 1
    assert checked == 14 * 15 // 2
