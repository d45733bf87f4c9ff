"""Demo catalogue: a small price list and common ICD-10 codes (synthetic codes in the national formats)."""

from __future__ import annotations

from importlib import resources

from sqlalchemy.orm import Session

from yilian.catalog import service


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    del seed_value, scale  # the demo catalogue is fixed
    data = resources.files("yilian.catalog") / "data"
    items = service.import_items(session, (data / "demo_items.csv").read_text(encoding="utf-8"))
    codes = service.import_diagnoses(session, (data / "demo_icd10.csv").read_text(encoding="utf-8"))
    return f"catalog: {items.created} items, {codes.created} ICD-10 codes"
