"""API shapes of the catalogue."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from yilian.catalog.domain import InsuranceClass, ItemKind


class CatalogItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: ItemKind
    name: str
    spec: str
    unit: str
    price_fen: int
    insurance_class: InsuranceClass
    self_pay_permille: int
    restrictions: dict[str, Any]


class DiagnosisRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class ImportProblem(BaseModel):
    line: int
    code: str
    reason: str


class ImportReport(BaseModel):
    """What an import did: rows read, created, updated, and each rejected row with its reason."""

    rows: int
    created: int
    updated: int
    rejected: list[ImportProblem]
    applied: bool
