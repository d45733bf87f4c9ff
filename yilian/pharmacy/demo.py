"""Demo pharmacy: an outpatient pharmacy in every hospital and community centre, stocked with each
drug of the knowledge base in two batches (the earlier expiring first), and a second pharmacist at the
general hospital for the double check (双人核对)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from yilian.catalog import drug_service, herb_service
from yilian.catalog import service as catalog
from yilian.kit.auth import service as auth
from yilian.kit.auth.domain import Role
from yilian.kit.clock import business_date
from yilian.pharmacy import decoction_service, service
from yilian.registry import service as registry

SECOND_PHARMACIST = ("pharmacist2", "药师 钱慧")
DEMO_PASSWORD = "Demo@2026"  # the demo accounts' shared password (yilian.demo.alliance, above this area)


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    del seed_value, scale
    items, _ = catalog.search_items(session, kind="drug", limit=200)
    drugs = list(drug_service.drug_facts(session, [i.code for i in items]))
    institutions, _ = registry.list_institutions(session, limit=200)
    today = business_date()
    pharmacies = 0
    for inst in institutions:
        if inst.level < 1:
            continue  # village clinics keep no pharmacy here
        pharmacy = service.open_pharmacy(
            session, inst.id, code=f"{inst.code}-MZYF", name=f"{inst.short_name}门诊药房"
        )
        pharmacies += 1
        for n, code in enumerate(drugs):
            service.receive(
                session,
                pharmacy.id,
                item_code=code,
                batch_no=f"{today:%y%m}A{n:02d}",
                expiry=today + timedelta(days=200),
                quantity=30,
            )
            service.receive(
                session,
                pharmacy.id,
                item_code=code,
                batch_no=f"{today:%y%m}B{n:02d}",
                expiry=today + timedelta(days=700),
                quantity=200,
            )
    hospital = registry.institution_by_code(session, "NTGH")
    if hospital is not None:
        auth.create_user(
            session,
            username=SECOND_PHARMACIST[0],
            password=DEMO_PASSWORD,
            role=Role.PHARMACIST,
            display_name=SECOND_PHARMACIST[1],
            institution_id=hospital.id,
        )
    herbs = herb_service.load_demo(session)  # the shared TCM pharmacy (共享中药房) at the general hospital
    if hospital is not None:
        for n in range(1, 7):
            decoction_service.add_machine(session, hospital.id, f"JY-{n:02d}", f"{n} 号煎药机")
    return (
        f"pharmacy: {herbs} herbs, 6 decoction machines; {pharmacies} pharmacies stocked with {len(drugs)}"
        " drugs in two batches each"
    )
