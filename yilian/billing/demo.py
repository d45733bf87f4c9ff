"""Demo billing data: outpatient policy rows for Nantong (example values), personal account
balances for employee-insured patients, and signed payment channels for some patients."""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.billing import settlement
from yilian.billing.domain import Channel
from yilian.insurance import policy_service as insurance
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.registry.models import Institution, Patient
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
    for inst in session.scalars(select(Institution)):
        for local, regional in CATALOG_TO_REGIONAL.items():
            results.add_code_map(
                session, system, institution_id=inst.id, local_code=local, item_code=regional
            )
    rng = random.Random(seed_value + 4)
    year = business_date().year
    for scheme, tier, deductible, ratio, cap in EXAMPLE_POLICIES:
        insurance.set_policy(
            session,
            region_code="320600",
            scheme=scheme,
            tier=tier,
            visit_type="outpatient",
            year=year,
            deductible=deductible,
            ratio_permille=ratio,
            cap=cap,
        )
    accounts = agreements = 0
    for patient in session.scalars(select(Patient).order_by(Patient.id)):
        if patient.insurance_scheme == "employee":
            insurance.set_account_balance(session, patient.id, rng.randint(50, 600) * 100)
            accounts += 1
        if rng.random() < 0.4:
            settlement.sign_agreement(
                session,
                patient_id=patient.id,
                channel=rng.choice([Channel.WECHAT, Channel.ALIPAY, Channel.UNIONPAY]),
                payer_ref=f"demo-{patient.mpi_id}",
            )
            agreements += 1
    return (
        f"billing: {len(EXAMPLE_POLICIES)} policy rows, {accounts} personal accounts, "
        f"{agreements} signed channels"
    )
