"""Demo catalogue: a small price list; the ICD-10 and ICD-9-CM-3 医保版 code tables shipped with yilian."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy.orm import Session

from yilian.catalog import drug_service, service


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    del seed_value, scale  # the demo catalogue is fixed
    data = resources.files("yilian.catalog") / "data"
    items = service.import_items(session, (data / "demo_items.csv").read_text(encoding="utf-8"))
    dx = service.load_code_table(session, "diagnosis")
    px = service.load_code_table(session, "procedure")
    drugs, pairs = drug_service.import_knowledge(
        session, json.loads((data / "demo_drugs.json").read_text(encoding="utf-8"))
    )
    return (
        f"catalog: {items.created} items, {dx.created} ICD-10 and {px.created} ICD-9-CM-3 codes (医保版), "
        f"{drugs} drugs in the knowledge base, {pairs} interaction pairs"
    )
