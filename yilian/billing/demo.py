"""Demo billing data: outpatient policy rows for Nantong (example values), personal account
balances for employee-insured patients, signed payment channels for some patients, and three weeks of
credit-care history at the hospitals, made by the real services on a moved clock: visits with orders on
credit, settlements by the patient or by the 23:00 job, failed debits turned arrears, reminders, and
some arrears paid later (so the credit dashboard has something to show)."""

from __future__ import annotations

import random
from datetime import date, time, timedelta

from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.billing import tasks
from yilian.billing.domain import Channel
from yilian.catalog import service as catalog
from yilian.insurance import policy_service as insurance
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.clock import FrozenClock, business_date, local_datetime, use_clock
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.results import service as results

# Example outpatient (普通门诊统筹) policy rows, in fen and ‰: scheme, tier, deductible, ratio, yearly cap.
EXAMPLE_POLICIES = (
    ("employee", "tertiary", 80_000, 600, 400_000),
    ("employee", "secondary", 80_000, 700, 400_000),
    ("employee", "primary", 30_000, 800, 400_000),
    ("resident", "tertiary", 50_000, 500, 150_000),
    ("resident", "secondary", 30_000, 550, 150_000),
    ("resident", "primary", 10_000, 650, 150_000),
)


# The price catalogue's lab and exam codes and the regional result items they produce, so that order
# entry can ask the results registry for recognisable earlier results (互认).
CATALOG_TO_REGIONAL = {
    "250301001000000": "GLU",
    "250301003000000": "HBA1C",
    "250403001000000": "FERR",
    "210102001000000": "DX-CHEST",
    "210300001000000": "CT-CHEST",
    "210200001000000": "MR-HEAD",
    "220201001000000": "US-ABD",
}


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    del scale
    system = Actor.system("demo")
    for inst in registry.every_institution(session):
        for local, regional in CATALOG_TO_REGIONAL.items():
            results.add_code_map(
                session, system, institution_id=inst.id, local_code=local, item_code=regional
            )
    rng = random.Random(seed_value + 4)
    year = business_date().year
    insurance.set_policy_table(
        session, EXAMPLE_POLICIES, region_code="320600", visit_type="outpatient", year=year
    )
    accounts = agreements = 0
    for patient in registry.every_patient(session):
        if patient.insurance_scheme == "employee":
            insurance.set_account_balance(session, patient.id, rng.randint(50, 600) * 100)
            accounts += 1
        if rng.random() < 0.4:
            billing.sign_agreement(
                session,
                patient_id=patient.id,
                channel=rng.choice([Channel.WECHAT, Channel.ALIPAY, Channel.UNIONPAY]),
                payer_ref=f"demo-{patient.mpi_id}",
            )
            agreements += 1
    visits, arrears = _history(session, rng)
    return (
        f"billing: {len(EXAMPLE_POLICIES)} policy rows, {accounts} personal accounts, "
        f"{agreements} signed channels; {visits} outpatient visits in the last {HISTORY_DAYS} days, "
        f"{arrears} arrears still open"
    )


HISTORY_DAYS = 21
VISITS_PER_DAY = 6
ORDERABLE = ("lab", "exam", "drug", "treatment")


def _at(day: date, hour: int) -> FrozenClock:
    return FrozenClock(local_datetime(day, time(hour, 0)))


def _doctors(session: Session) -> list[tuple[Actor, int]]:
    """A doctor actor and department for a few clinical departments of each hospital."""
    out: list[tuple[Actor, int]] = []
    for inst in [i for i in registry.every_institution(session) if i.level >= 2]:
        depts, _ = registry.list_departments(session, institution_id=inst.id)
        for dept in [d for d in depts if d.is_clinical][:3]:
            docs, _ = registry.list_practitioners(session, department_id=dept.id, limit=1)
            if docs:
                actor = Actor(
                    user_id=None,
                    username=f"demo-{docs[0].code}",
                    role=Role.DOCTOR,
                    display_name=docs[0].name,
                    institution_id=inst.id,
                    practitioner_id=docs[0].id,
                    permissions=ROLE_PERMISSIONS[Role.DOCTOR],
                    channel="demo",
                )
                out.append((actor, dept.id))
    return out


def _history(session: Session, rng: random.Random) -> tuple[int, int]:
    today = business_date()
    with_accounts = auth.patients_with_accounts(session)
    patients = [p.id for p in registry.every_patient(session) if p.id not in with_accounts]
    items = [i.code for i in catalog.search_items(session, limit=200)[0] if i.kind in ORDERABLE]
    doctors = _doctors(session)
    if not patients or not items or not doctors:
        return 0, 0
    visits = 0
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        with use_clock(_at(day, 10)):
            encounters = []
            for _ in range(VISITS_PER_DAY):
                actor, dept = rng.choice(doctors)
                try:
                    encounter = billing.open_visit(
                        session, actor, patient_id=rng.choice(patients), department_id=dept
                    )
                    for code in rng.sample(items, k=rng.randint(1, 3)):
                        billing.order_with_credit(session, actor, encounter.id, code)
                except YilianError:
                    continue
                encounters.append(encounter.id)
                visits += 1
            for encounter_id in encounters:
                if rng.random() < 0.4:  # settled by the patient on the phone before leaving
                    try:
                        with session.begin_nested():
                            billing.settle(
                                session,
                                encounter_id=encounter_id,
                                day=day,
                                channel=rng.choice([Channel.WECHAT, Channel.ALIPAY]),
                                idempotency_key=f"demo-settle:{encounter_id}",
                            )
                    except YilianError:
                        continue
        with use_clock(_at(day, 23)):
            for encounter_id in tasks.pending_encounters(session, day):
                with session.begin_nested():
                    tasks.settle_one(session, encounter_id, day)
        with use_clock(_at(day, 9)):
            tasks.send_reminders(session, day)
            for arrear in billing.open_arrears(session):
                if (day - arrear.opened_on).days >= 2 and rng.random() < 0.15:
                    billing.pay_arrear(
                        session,
                        arrear.id,
                        channel=Channel.WECHAT,
                        idempotency_key=f"demo-arrear:{arrear.id}",
                    )
    return visits, len(billing.open_arrears(session))
