"""Drug facts shared by the catalogue and prescription tests."""

from __future__ import annotations

from decimal import Decimal

from yilian.catalog.drug_domain import DrugFacts

METFORMIN = DrugFacts(
    item_code="XA10BAM039A001010100001",
    name="盐酸二甲双胍片",
    form="tablet",
    strength=Decimal("0.5"),
    strength_unit="g",
    form_unit="片",
    package_size=Decimal(48),
    package_unit="盒",
    usage_note="餐中或餐后服用",
)
