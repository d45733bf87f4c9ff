"""Computation against a small hand-built fixture, access, and consistency with the areas' own indicator
functions on the demo alliance."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from tests.builders import (
    SYSTEM,
    actor_of,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from yilian.alliance.models import Member, Network, Posting, Referral, Sitting
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
    return {"hosp": hosp.id, "centre": centre.id, "cardio": cardio.id, "endo": endo.id, "general": general.id}


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


# ---------------------------------------------------------------- the alliance's figures (医联体)


def _referral(
    session: Session, w: dict[str, int], direction: str, at: datetime, state: str, to_dept: int | None
) -> None:
    up = direction == "up"
    session.add(
        Referral(
            network_id=w["network"],
            direction=direction,
            kind="outpatient" if up else "chronic",
            state=state,
            patient_id=w["patient"],
            from_institution_id=w["centre"] if up else w["hosp"],
            to_institution_id=w["hosp"] if up else w["centre"],
            to_department_id=to_dept,
            diagnosis="高血压",
            reason="测试",
            created_by="test",
            requested_at=at,
            answer_due_at=at,
        )
    )


@pytest.fixture
def alliance_world(session: Session, world: dict[str, int]) -> dict[str, int]:
    """The hospital leads an alliance with the centre. Up-referrals (centre → hospital cardiology) on
    Beijing days 09-01 (16:30 UTC on 08-31), 09-03, 09-10 (refused) and 10-01 (17:00 UTC on 09-30);
    down-referrals (hospital → centre) on 09-15 (general practice) and 09-20 (no department); an expert
    posted to the centre's general practice came on 09-07, 09-14 and 10-05 and missed 09-21."""
    from yilian.registry import service as registry

    w = dict(world)
    w["patient"] = _any_patient(session)
    now = datetime(2026, 8, 1, tzinfo=UTC)
    net = Network(name="测试医联体", kind="city", lead_institution_id=w["hosp"], created_at=now)
    session.add(net)
    session.flush()
    w["network"] = net.id
    for inst in (w["hosp"], w["centre"]):
        session.add(Member(network_id=net.id, institution_id=inst, joined_on=date(2026, 8, 1)))
    for at, state in (
        (datetime(2026, 8, 31, 16, 30, tzinfo=UTC), "closed"),
        (datetime(2026, 9, 3, 2, tzinfo=UTC), "requested"),
        (datetime(2026, 9, 10, 2, tzinfo=UTC), "refused"),
        (datetime(2026, 9, 30, 17, tzinfo=UTC), "accepted"),
    ):
        _referral(session, w, "up", at, state, w["cardio"])
    _referral(session, w, "down", datetime(2026, 9, 15, 3, tzinfo=UTC), "closed", w["general"])
    _referral(session, w, "down", datetime(2026, 9, 20, 3, tzinfo=UTC), "requested", None)
    expert = make_practitioner(session, institution=registry.get_institution(session, w["hosp"]), name="专家")
    posting = Posting(
        network_id=net.id,
        practitioner_id=expert.id,
        member_institution_id=w["centre"],
        member_department_id=w["general"],
        start=date(2026, 9, 7),
        end=date(2026, 10, 5),
        weekdays="0",
        period="pm",
        clinic_type="expert",
        created_by="test",
        created_at=now,
    )
    session.add(posting)
    session.flush()
    for day, came in ((7, True), (14, True), (21, False)):
        session.add(Sitting(posting_id=posting.id, day=date(2026, 9, day), arrived=came))
    session.add(Sitting(posting_id=posting.id, day=date(2026, 10, 5), arrived=True))
    session.flush()
    return w


def test_alliance_figures_hand_computed(session: Session, alliance_world: dict[str, int]) -> None:
    from yilian.alliance import service as alliance

    w = alliance_world
    service.refresh(session, Month(2026, 8), Month(2026, 10), trigger="test")
    city = _by_code(service.figures(session, SYSTEM, SEPT, SEPT))
    assert (city["referrals_up"], city["referrals_down"], city["expert_sitting_days"]) == (3, 2, 2)
    assert "referrals_up_received" not in city  # the other end: institution and department figures
    octo = _by_code(service.figures(session, SYSTEM, Month(2026, 10), Month(2026, 10)))
    assert (octo["referrals_up"], octo["referrals_down"], octo["expert_sitting_days"]) == (1, 0, 1)
    centre = _by_code(service.figures(session, SYSTEM, SEPT, SEPT, institution_id=w["centre"]))
    assert (centre["referrals_up"], centre["referrals_down"], centre["expert_sitting_days"]) == (3, 2, 2)
    assert (centre["referrals_up_received"], centre["referrals_down_sent"]) == (0, 0)
    hosp = _by_code(service.figures(session, SYSTEM, SEPT, SEPT, institution_id=w["hosp"]))
    assert (hosp["referrals_up"], hosp["referrals_down"], hosp["expert_sitting_days"]) == (0, 0, 0)
    assert (hosp["referrals_up_received"], hosp["referrals_down_sent"]) == (3, 2)
    cardio = _by_code(service.department_figures(session, SYSTEM, w["hosp"], w["cardio"], SEPT, SEPT))
    assert cardio["referrals_up_received"] == 3 and "referrals_down_sent" not in cardio
    general = _by_code(service.department_figures(session, SYSTEM, w["centre"], w["general"], SEPT, SEPT))
    assert (general["referrals_down"], general["expert_sitting_days"]) == (1, 2)  # one had no department
    # drill-down city → institution: the centre sent them all
    rows = service.breakdown(session, SYSTEM, "referrals_up", SEPT, SEPT)
    assert (rows[0].key, rows[0].value, rows[0].text) == (w["centre"], 3, "3 人次")
    # the alliance area's own indicators say the same (the Beijing month of each request)
    [mine] = [
        r for r in alliance.indicator_rows(session, SEPT.first, SEPT.last) if r.institution_id == w["centre"]
    ]
    assert (mine.up_referrals, mine.down_referrals, mine.sitting_days) == (3, 2, 2)
    # both months: a range sums its months
    both = _by_code(service.figures(session, SYSTEM, SEPT, Month(2026, 10)))
    assert (both["referrals_up"], both["referrals_down"], both["expert_sitting_days"]) == (4, 2, 3)


# ---------------------------------------------------------------- consistency with the areas


@pytest.mark.slow
def test_consistent_with_the_areas_own_indicators(session: Session) -> None:
    from yilian.alliance import service as alliance
    from yilian.billing import service as billing
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
    referred = sat = 0
    for m in (this.shift(-1), this):
        start, end = m.first, min(m.last, today)
        # the alliance's own indicators (every alliance's members; an institution in two alliances
        # has its referrals and sittings in the alliance they belong to: summed here)
        allied: dict[int, list[int]] = {}
        for a in alliance.indicator_rows(session, start, end):
            got = allied.setdefault(a.institution_id, [0, 0, 0])
            got[0] += a.up_referrals
            got[1] += a.down_referrals
            got[2] += a.sitting_days
        city_m = _by_code(service.figures(session, SYSTEM, m, m))
        assert [city_m["referrals_up"], city_m["referrals_down"], city_m["expert_sitting_days"]] == [
            sum(v[k] for v in allied.values()) for k in range(3)
        ]
        referred += (city_m["referrals_up"] or 0) + (city_m["referrals_down"] or 0)
        sat += city_m["expert_sitting_days"] or 0
        by_inst = service.breakdown(session, SYSTEM, "referrals_up", m, m)
        assert {r.key: r.value for r in by_inst if r.value} == {k: v[0] for k, v in allied.items() if v[0]}
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
            a = allied.get(inst.id, [0, 0, 0])
            assert [mine["referrals_up"], mine["referrals_down"], mine["expert_sitting_days"]] == a
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
    assert referred > 0 and sat > 0  # the demo's alliance has referrals and sittings in these two months
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
