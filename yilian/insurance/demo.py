"""Demo data of the insurance area: claim lines of the demo's own patients over the past months (the
synthetic generator's items and amounts, with injected violations), and one audit run over the year.

Every claim belongs to a patient of the master patient index (``patient_id`` is the MPI number; sex,
age and insurance scheme are that patient's, the institution level is the patient's home
institution's) and falls in the last eleven months; an injected violation is given a patient whose
own sex, age and scheme make it a violation, so a finding tells the truth about the person it names.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import duckdb
from sqlalchemy.orm import Session

from yilian.insurance.audit import service, synth
from yilian.insurance.audit.domain import ClaimLine, Family, Rule, default_library
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.registry import service as registry

DEMO_ACTOR = Actor.system("demo-insurance")
MONTHS_BACK = 330  # claims of the last 330 days


class _Person:
    __slots__ = ("age", "level", "mpi", "scheme", "sex")

    def __init__(self, mpi: str, sex: str, age: int, scheme: str, level: int) -> None:
        self.mpi, self.sex, self.age, self.scheme, self.level = mpi, sex, age, scheme, level


def _people(session: Session, today: date) -> list[_Person]:
    levels = {i.id: i.level for i in registry.list_institutions(session, limit=500)[0]}
    people: list[_Person] = []
    offset = 0
    while True:
        rows, total = registry.search_patients(session, DEMO_ACTOR, offset=offset, limit=500)
        for p in rows:
            age = (
                today.year
                - p.birth_date.year
                - ((today.month, today.day) < (p.birth_date.month, p.birth_date.day))
            )
            people.append(
                _Person(
                    p.mpi_id,
                    "M" if p.sex == "1" else "F",
                    age,
                    p.insurance_scheme,
                    levels.get(p.home_institution_id or 0, 3),
                )
            )
        offset += len(rows)
        if not rows or offset >= total:
            return people


def _as(person: _Person, line: ClaimLine, *, level: int | None = None) -> ClaimLine:
    return replace(
        line,
        patient_id=person.mpi,
        sex=person.sex,
        age=person.age,
        scheme=person.scheme,
        level=line.level if level is None else level,
    )


def _fits(rule: Rule, line: ClaimLine) -> Callable[[_Person], bool]:
    """Which demo patients make ``line`` break ``rule`` as they are (their own sex, age and scheme)."""
    if rule.family == Family.SEX:
        return lambda p: p.sex == line.sex
    if rule.family == Family.AGE:
        low, high = rule.params.get("min_age", 0), rule.params.get("max_age", 150)
        return lambda p: not low <= p.age <= high
    if rule.family == Family.SCHEME:
        return lambda p: p.scheme not in rule.params.get("schemes", [])
    return lambda p: True


DEMO_HOSPITAL = "NTGH"  # the demo alliance's general hospital (synth's departments are its own)


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    today = business_date()
    rng = random.Random(seed_value)
    people = _people(session, today)
    lib = default_library()
    n = max(2000, int(20_000 * scale))
    con = duckdb.connect()
    try:
        synth.create_base_table(con, lib, n, seed=seed_value, table="base")
        base = [ClaimLine(**r) for r in con.sql("SELECT * FROM base").to_arrow_table().to_pylist()]
    finally:
        con.close()
    extra, truth = synth.injected(lib, start_line_id=n, copies=2)
    people = [p for p in people if p.scheme != "self_pay"] or people  # claims are the insured's
    if not people:
        raise RuntimeError("the insurance demo needs the demo's patients (registry demo first)")

    # clean claims: synthetic patient k is demo patient k; the synthetic calendar moves to end last week
    shift = (today - timedelta(days=21)) - (synth.BASE_DATE + timedelta(days=300))  # stays end by today
    lines: list[ClaimLine] = []
    for line in base:
        person = people[int(line.patient_id[1:]) % len(people)]
        lines.append(
            replace(
                _as(person, line, level=person.level),
                admit_date=line.admit_date + shift,
                discharge_date=line.discharge_date + shift,
                service_date=line.service_date + shift,
            )
        )

    # injected violations: one patient per claim who really breaks the rule, spread over the months
    rules = {r.id: r for r in lib.rules}
    by_claim: dict[str, list[ClaimLine]] = {}
    for line in extra:
        by_claim.setdefault(line.claim_id.rstrip("ab"), []).append(line)
    rule_of = {claim: rule_id for rule_id, claim in truth.pairs}
    for claim, claim_lines in by_claim.items():
        rule = rules[rule_of.get(claim) or rule_of[claim + "b"]]
        fits = _fits(rule, claim_lines[0])
        person = rng.choice([p for p in people if fits(p)] or people)
        first = min(ln.admit_date for ln in claim_lines)
        span = (max(max(ln.discharge_date, ln.service_date) for ln in claim_lines) - first).days
        target = today - timedelta(days=rng.randint(span + 1, max(span + 1, MONTHS_BACK)))
        delta = max(rule.effective_from, target) - first
        if first + delta + timedelta(days=60) > rule.effective_to:
            delta = timedelta(0)
        for ln in claim_lines:
            level = ln.level if rule.family == Family.LEVEL else person.level
            lines.append(
                replace(
                    _as(person, ln, level=level),
                    admit_date=ln.admit_date + delta,
                    discharge_date=ln.discharge_date + delta,
                    service_date=ln.service_date + delta,
                )
            )
    # the demo claims are the general hospital's bills: departments qualified by its code (NTGH/NK01), so
    # that its doctors and insurance office see them and another institution's do not
    hospital = registry.institution_by_code(session, DEMO_HOSPITAL)
    if hospital is not None:
        lines = [
            replace(ln, department=service.qualified_department(hospital.code, ln.department))
            if ln.department
            else ln
            for ln in lines
        ]
    service.store_lines(session, lines, "demo")
    run = service.run_audit(session, service.office_actor("demo"), today - timedelta(days=365), today)
    return (
        f"audit: {len(lines)} claim lines of {len({ln.patient_id for ln in lines})} demo patients over "
        f"{MONTHS_BACK} days, run {run.id} with {run.findings_count} findings ({len(truth.pairs)} injected)"
    )
