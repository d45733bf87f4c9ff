"""Use cases of analytics: refresh the monthly facts from every area's bulk reads (set-based: each area
answers one GROUP BY per range), and read indicator values for the dashboards and the report.

Who sees what: the health commission (卫健委) and the platform's administrator see the city and every
institution; a user holding only the hospital view sees his own institution. Nobody reads patient rows
here: the facts are counts and sums, and distinct keys never leave the database.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.alliance import service as alliance
from yilian.alliance.domain import Direction
from yilian.analytics import domain
from yilian.analytics import repository as repo
from yilian.analytics.domain import INDICATORS, Indicator, Month
from yilian.analytics.errors import InvalidPeriod
from yilian.analytics.models import Refresh
from yilian.billing import service as billing
from yilian.drg import service as drg
from yilian.inpatient import service as inpatient
from yilian.insurance.audit import service as audit
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.clock import business_date, local_datetime, utcnow
from yilian.kit.errors import Forbidden
from yilian.outpatient import service as outpatient
from yilian.pharmacy import decoction_service as decoction
from yilian.registry import service as registry
from yilian.results import service as results
from yilian.scheduling import service as scheduling

Key = tuple[date, int, int]  # (month's first day, institution, department)


# ---------------------------------------------------------------- refresh


class Collector:
    """Monthly sums and distinct keys gathered from the areas' rows."""

    def __init__(self) -> None:
        self.sums: dict[tuple[Key, str], int] = defaultdict(int)
        self.keys: set[tuple[Key, str, int]] = set()
        self._months: dict[date, date] = {}

    def month(self, day: date) -> date:
        """The first day of ``day``'s month (remembered: the areas' rows repeat a few hundred days)."""
        first = self._months.get(day)
        if first is None:
            first = self._months[day] = day.replace(day=1)
        return first

    def months_of(self, days: Iterable[date]) -> dict[date, date]:
        """The first day of each day's month, for a fold that looks months up without a call per row."""
        return {day: self.month(day) for day in days}

    def add(self, day: date, institution_id: int | None, department_id: int | None, **values: int) -> None:
        key = (self.month(day), institution_id or 0, department_id or 0)
        for measure, v in values.items():
            if v:
                self.sums[(key, measure)] += int(v)

    def key(self, day: date, institution_id: int, department_id: int, measure: str, value: int) -> None:
        self.keys.add(((self.month(day), institution_id, department_id), measure, value))


def _collect_outpatient(c: Collector, session: Session, start: date, end: date) -> None:
    categories = {i.id: i.category for i in registry.list_institutions(session, limit=10_000)[0]}
    grass = {i for i, category in categories.items() if domain.grassroots(category)}
    sums = c.sums
    for day, inst, dept, n in outpatient.visit_counts(session, start, end):
        key = (c.month(day), inst or 0, dept or 0)
        sums[(key, "visits")] += n
        if inst in grass:
            sums[(key, "grassroots_visits")] += n


def _collect_billing(c: Collector, session: Session, start: date, end: date) -> None:
    # one row per encounter and day: an encounter counts once per month however many days it has charges.
    # The hottest loop of the refresh (a row per credit encounter): locals, no call per row.
    seen: set[tuple[date, int]] = set()
    rows = billing.credit_encounters(session, start, end)
    sums, keys, months = c.sums, c.keys, c.months_of({r[0] for r in rows})
    for day, inst, dept, encounter_id, patient_id, held in rows:
        month = months[day]
        key = (month, inst or 0, dept or 0)
        first_time = (month, encounter_id)
        if first_time not in seen:
            seen.add(first_time)
            sums[(key, "credit_visits")] += 1
        if held:
            sums[(key, "credit_amount_fen")] += held
        keys.add((key, "credit_beneficiaries", patient_id))


def _collect_scheduling(c: Collector, session: Session, start: date, end: date) -> None:
    for day, inst, dept, n in scheduling.three_day_counts(session, start, end):
        c.add(day, inst, dept, three_day_registrations=n)
    for day, inst, dept, n, waived in scheduling.return_visit_counts(session, start, end):
        c.add(day, inst, dept, return_visits=n, fees_waived_fen=waived)


def _collect_results(c: Collector, session: Session, start: date, end: date) -> None:
    for day, inst, dept, prompts, yes, no, saved in results.recognition_counts(session, start, end):
        c.add(
            day,
            inst,
            dept,
            results_prompts=prompts,
            results_recognised=yes,
            results_not_recognised=no,
            results_fee_saved_fen=saved,
        )


def _collect_insurance(c: Collector, session: Session, start: date, end: date) -> None:
    for day, status, n, amount in audit.finding_totals(session, start, end):
        if day is None:
            continue
        confirmed = status == "confirmed"
        c.add(
            day,
            0,
            0,
            audit_findings=n,
            audit_amount_fen=amount,
            audit_confirmed=n if confirmed else 0,
            audit_confirmed_fen=amount if confirmed else 0,
        )
    for day, cases, weight, cost, payment in drg.grouped_case_totals(session, start, end):
        weight_e4 = int((Decimal(weight) * 10_000).to_integral_value())
        c.add(day, 0, 0, drg_cases=cases, drg_weight_e4=weight_e4, drg_cost_fen=cost, drg_payment_fen=payment)


def _collect_inpatient(c: Collector, session: Session, months: list[Month], today: date) -> None:
    beds = inpatient.open_beds_all(session)
    for m in months:
        end = min(m.last, today)
        if end < m.first:
            continue
        days = (end - m.first).days + 1
        for (inst, dept), n in beds.items():
            c.add(m.first, inst, dept, open_bed_days=n * days)
        for (inst, dept), row in inpatient.stay_aggregates_all(session, m.first, end).items():
            occupied, admitted, discharged, discharged_days, _b, pre, saved = (int(v or 0) for v in row[:7])
            c.add(
                m.first,
                inst,
                dept,
                occupied_bed_days=occupied,
                admissions=admitted,
                discharges=discharged,
                discharged_bed_days=discharged_days,
                preadmissions=pre,
                preadmission_days_saved=saved,
            )


def _collect_pharmacy(c: Collector, session: Session, start: date, end: date) -> None:
    since = local_datetime(start, datetime.min.time())
    until = local_datetime(date.fromordinal(end.toordinal() + 1), datetime.min.time())
    for finished, promised, inst in decoction.finished_decoctions(session, since, until):
        on_time = promised is None or finished <= promised
        c.add(business_date(finished), inst, 0, decoctions_finished=1, decoctions_on_time=int(on_time))


def _collect_alliance(c: Collector, session: Session, start: date, end: date) -> None:
    # as the alliance's own indicators: 上转 at the member sending, 下转 at the member receiving; and the
    # other end of each (a hospital's 接收上转 by its receiving department, its 下转转出)
    for day, direction, frm, to, dept, n in alliance.referral_counts(session, start, end):
        if direction == Direction.UP:
            c.add(day, frm, 0, referrals_up=n)
            c.add(day, to, dept, referrals_up_received=n)
        else:
            c.add(day, to, dept, referrals_down=n)
            c.add(day, frm, 0, referrals_down_sent=n)
    for day, inst, dept, n in alliance.sitting_day_counts(session, start, end):
        c.add(day, inst, dept, expert_sitting_days=n)


def collect(session: Session, first: Month, last: Month) -> Collector:
    """Every area's figures of the months [first, last], gathered by month, institution and department.
    A month in progress counts up to today: registrations booked for the coming days are not yet visits."""
    months = domain.months_between(first, last)
    today = business_date()
    start, end = first.first, min(last.last, today)
    c = Collector()
    _collect_outpatient(c, session, start, end)
    _collect_billing(c, session, start, end)
    _collect_scheduling(c, session, start, end)
    _collect_results(c, session, start, end)
    _collect_insurance(c, session, start, end)
    _collect_inpatient(c, session, months, today)
    _collect_pharmacy(c, session, start, end)
    _collect_alliance(c, session, start, end)
    return c


def fact_rows(c: Collector) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of ``analytics_facts`` and ``analytics_fact_keys`` a collection makes."""
    facts = [
        {"month": k[0], "institution_id": k[1], "department_id": k[2], "measure": m, "value": v}
        for (k, m), v in c.sums.items()
    ]
    rows = [
        {"month": k[0], "institution_id": k[1], "department_id": k[2], "measure": m, "key": v}
        for k, m, v in c.keys
    ]
    return facts, rows


def refresh(
    session: Session,
    first: Month,
    last: Month,
    *,
    trigger: str = "manual",
    collected: Collector | None = None,
) -> Refresh:
    """Recompute the facts of the months [first, last] (idempotent: the months are replaced). The
    figures are collected from ``session``'s database, or given (``collected``: the same collection
    evaluated by Spark over an export, ``analytics.spark``)."""
    began = time.perf_counter()
    c = collected if collected is not None else collect(session, first, last)
    repo.delete_months(session, first.first, last.first)
    repo.insert_facts(session, c.sums)
    repo.insert_keys(session, c.keys)
    # the distinct facts of the months refreshed and of the later ones whose look-back covers them
    repo.derive_distinct(session, first.shift(-35).first, first.first, last.shift(35).first)
    row = Refresh(
        first_month=first.first,
        last_month=last.first,
        trigger=trigger,
        rows=len(c.sums) + len(c.keys),
        milliseconds=int((time.perf_counter() - began) * 1000),
        finished_at=utcnow(),
    )
    repo.add_refresh(session, row)
    session.flush()
    return row


def refresh_recent(session: Session, *, trigger: str = "job") -> Refresh:
    """The incremental refresh: this month and the one before (late entries, signed abstracts)."""
    this = Month.of(business_date())
    return refresh(session, this.shift(-1), this, trigger=trigger)


def refresh_by(session: Session, actor: Actor, first: Month, last: Month) -> Refresh:
    """A refresh started by a person (the dashboard's 刷新 button)."""
    if not (actor.has(Permission.ANALYTICS_CITY) or actor.has(Permission.ANALYTICS_HOSPITAL)):
        raise Forbidden("无权刷新统计数据")
    return refresh(session, first, last, trigger="manual")


def last_refresh(session: Session) -> Refresh | None:
    return repo.last_refresh(session)


# ---------------------------------------------------------------- access


def check_scope(actor: Actor, institution_id: int | None) -> None:
    """The city (None) needs the city view; an institution needs the city view or serving it."""
    if actor.has(Permission.ANALYTICS_CITY):
        return
    if (
        institution_id is not None
        and actor.has(Permission.ANALYTICS_HOSPITAL)
        and actor.serves(institution_id)
    ):
        return
    raise Forbidden("无权查看该范围的统计指标")


def can_see_city(actor: Actor) -> bool:
    return actor.has(Permission.ANALYTICS_CITY)


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Figure:
    """One indicator over a range, beside the same period last year."""

    indicator: Indicator
    value: float | int | None
    before: float | int | None

    @property
    def text(self) -> str:
        return domain.display(self.indicator, self.value)

    @property
    def before_text(self) -> str:
        return domain.display(self.indicator, self.before)

    @property
    def change(self) -> float | None:
        return domain.change(self.value, self.before)


def _days(first: Month, last: Month) -> int:
    today = business_date()
    end = min(last.last, today)
    return max(0, (end - first.first).days + 1) if end >= first.first else 0


def _grouped(
    session: Session, first: Month, last: Month, group: str, institution_id: int | None
) -> dict[Any, dict[str, int]]:
    sums = repo.sums(session, first.first, last.first, group=group, institution_id=institution_id)
    for key, counts in repo.distinct_counts(
        session, first.first, last.first, group=group, institution_id=institution_id
    ).items():
        sums.setdefault(key, {}).update(counts)
    return sums


def values(
    session: Session, first: Month, last: Month, *, institution_id: int | None = None, group: str = "city"
) -> dict[Any, dict[str, float | int | None]]:
    """Every indicator's value by group key over the months [first, last] (no access check: callers)."""
    days = _days(first, last)
    out: dict[Any, dict[str, float | int | None]] = {}
    for key, sums in _grouped(session, first, last, group, institution_id).items():
        if group == "month":
            m = Month.of(key)
            days_of = _days(m, m)
        else:
            days_of = days
        out[key] = {i.code: domain.value(i, sums, days_of) for i in INDICATORS}
    return out


def _indicators_for(institution_id: int | None) -> list[Indicator]:
    grain = domain.CITY if institution_id is None else domain.INSTITUTION
    return [i for i in INDICATORS if grain in i.grains]


def figures(
    session: Session, actor: Actor, first: Month, last: Month, *, institution_id: int | None = None
) -> list[Figure]:
    """The indicators of the city (or an institution) over [first, last] with 同比."""
    check_scope(actor, institution_id)
    b_first, b_last = domain.same_period_last_year(first, last)
    now = _grouped(session, first, last, "city", institution_id).get(None, {})
    before = _grouped(session, b_first, b_last, "city", institution_id).get(None, {})
    days, b_days = _days(first, last), _days(b_first, b_last)
    return [
        Figure(i, domain.value(i, now, days), domain.value(i, before, b_days))
        for i in _indicators_for(institution_id)
    ]


@dataclass(frozen=True)
class Row:
    key: int
    label: str
    value: float | int | None
    text: str


def breakdown(
    session: Session, actor: Actor, code: str, first: Month, last: Month, *, institution_id: int | None = None
) -> list[Row]:
    """One indicator by institution (the city's drill-down) or by department (an institution's), best
    first; city-level figures (not attributed to an institution) are left out."""
    check_scope(actor, institution_id)
    ind = domain.indicator(code)
    group = "institution" if institution_id is None else "department"
    by = values(session, first, last, institution_id=institution_id, group=group)
    names = _names(session, group, by.keys())
    rows = [
        Row(int(k), names.get(int(k), "未指定科室" if group == "department" else "未指定机构"), v[code], "")
        for k, v in by.items()
        if int(k) != 0 and v.get(code) is not None
    ]
    rows.sort(key=lambda r: (-(r.value or 0) if ind.higher_is_better else (r.value or 0), r.label))
    return [Row(r.key, r.label, r.value, domain.display(ind, r.value)) for r in rows]


def _names(session: Session, group: str, keys: Iterable[Any]) -> dict[int, str]:
    if group == "institution":
        return {i.id: i.name for i in registry.list_institutions(session, limit=10_000)[0]}
    out = {}
    for k in keys:
        if k:
            out[int(k)] = registry.get_department(session, int(k)).name
    return out


def trend(
    session: Session, actor: Actor, code: str, first: Month, last: Month, *, institution_id: int | None = None
) -> list[tuple[Month, float | int | None, float | int | None]]:
    """One indicator month by month over [first, last] beside the same month last year."""
    check_scope(actor, institution_id)
    ind = domain.indicator(code)
    months = domain.months_between(first, last)
    # one read of both periods (last year's months and this range), month by month
    by_month = _grouped(session, first.shift(-12), last, "month", institution_id)

    def at(m: Month) -> float | int | None:
        return domain.value(ind, by_month.get(m.first, {}), _days(m, m))

    return [(m, at(m), at(m.shift(-12))) for m in months]


def institution_options(session: Session, actor: Actor) -> dict[int, str]:
    """The institutions an actor may open (all for the city view, his own otherwise)."""
    rows = registry.list_institutions(session, limit=10_000)[0]
    return {i.id: i.name for i in rows if can_see_city(actor) or actor.serves(i.id)}


def department_name(session: Session, department_id: int) -> str:
    return registry.get_department(session, department_id).name


def parse_range(first: str | None, last: str | None) -> tuple[Month, Month]:
    """The months of a request (default: January to this month); at most 36 months."""
    this = Month.of(business_date())
    a = Month.parse(first) if first else Month(this.year, 1) if not last else Month.parse(last)
    b = Month.parse(last) if last else a if first else this
    domain.months_between(a, b)
    if a.year < 2000:
        raise InvalidPeriod("月份过早")
    return a, b


def department_figures(
    session: Session, actor: Actor, institution_id: int, department_id: int, first: Month, last: Month
) -> list[Figure]:
    """The department-grain indicators of one department of an institution over [first, last], with 同比."""
    check_scope(actor, institution_id)
    if registry.get_department(session, department_id).institution_id != institution_id:
        raise Forbidden("该科室不属于此机构")
    b_first, b_last = domain.same_period_last_year(first, last)
    now = _grouped(session, first, last, "department", institution_id).get(department_id, {})
    before = _grouped(session, b_first, b_last, "department", institution_id).get(department_id, {})
    days, b_days = _days(first, last), _days(b_first, b_last)
    return [
        Figure(i, domain.value(i, now, days), domain.value(i, before, b_days))
        for i in INDICATORS
        if domain.DEPARTMENT in i.grains
    ]
