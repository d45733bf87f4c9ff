"""Use cases of the catalogue: look-ups for other areas, search, and CSV imports with a report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from yilian.catalog import repository as repo
from yilian.catalog.domain import CatalogRow, check_diagnosis_code, name_initials, parse_catalog_row
from yilian.catalog.errors import DiagnosisNotFound, InvalidCatalogRow, ItemNotFound
from yilian.catalog.models import CatalogItem, DiagnosisCode
from yilian.catalog.schemas import ImportProblem, ImportReport
from yilian.kit.clock import utcnow
from yilian.kit.errors import YilianError

ITEM_COLUMNS = (
    "code",
    "kind",
    "name",
    "spec",
    "unit",
    "price_yuan",
    "insurance_class",
    "self_pay_ratio",
    "limit_sex",
    "limit_min_age",
    "limit_max_age",
    "limit_indications",
    "limit_settings",
    "limit_min_level",
)
DIAGNOSIS_COLUMNS = ("code", "name")


def get_item(session: Session, code: str) -> CatalogItem:
    """Return an active item by code or raise ItemNotFound."""
    item = repo.item_by_code(session, code)
    if item is None or not item.is_active:
        raise ItemNotFound(f"收费项目不存在或已停用: {code}")
    return item


def items_by_code(session: Session, codes: Sequence[str]) -> dict[str, CatalogItem]:
    """Return the items of ``codes`` that exist (for order entry and billing)."""
    return repo.items_by_code(session, list(dict.fromkeys(codes)))


def get_diagnosis(session: Session, code: str) -> DiagnosisCode:
    """Return a diagnosis by ICD-10 code or raise DiagnosisNotFound."""
    normalised = check_diagnosis_code(code)
    found = repo.diagnoses_by_code(session, [normalised]).get(normalised)
    if found is None or not found.is_active:
        raise DiagnosisNotFound(f"诊断编码不在目录中: {normalised}")
    return found


def search_items(session: Session, **filters: object) -> tuple[list[CatalogItem], int]:
    return repo.search_items(session, **filters)  # type: ignore[arg-type]


def search_diagnoses(session: Session, **filters: object) -> tuple[list[DiagnosisCode], int]:
    return repo.search_diagnoses(session, **filters)  # type: ignore[arg-type]


def _read_csv(text: str, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidCatalogRow(f"文件缺少列: {', '.join(missing)}")
    return [(i + 2, row) for i, row in enumerate(reader)]


def import_items(session: Session, text: str, *, partial: bool = False) -> ImportReport:
    """Import a price-catalogue CSV (upsert by code).

    Every row is checked first; unless ``partial``, one bad row means nothing is stored.
    """
    rows = _read_csv(text, ("code", "kind", "name", "unit", "price_yuan", "insurance_class"))
    good: dict[str, CatalogRow] = {}
    problems: list[ImportProblem] = []
    for line, raw in rows:
        try:
            row = parse_catalog_row(raw)
        except YilianError as exc:
            problems.append(ImportProblem(line=line, code=(raw.get("code") or "").strip(), reason=exc.detail))
            continue
        if row.code in good:
            problems.append(ImportProblem(line=line, code=row.code, reason="文件中编码重复"))
            continue
        good[row.code] = row
    applied = partial or not problems
    created = updated = 0
    if applied:
        existing = repo.items_by_code(session, list(good))
        now = utcnow()
        for code, row in good.items():
            values = {
                "kind": row.kind.value,
                "name": row.name,
                "name_initials": name_initials(row.name),
                "spec": row.spec,
                "unit": row.unit,
                "price_fen": row.price_fen,
                "insurance_class": row.insurance_class.value,
                "self_pay_permille": row.self_pay_permille,
                "restrictions": row.restrictions.as_dict(),
                "is_active": True,
                "updated_at": now,
            }
            item = existing.get(code)
            if item is None:
                session.add(CatalogItem(code=code, **values))
                created += 1
            else:
                for key, value in values.items():
                    setattr(item, key, value)
                updated += 1
        session.flush()
    return ImportReport(rows=len(rows), created=created, updated=updated, rejected=problems, applied=applied)


def import_diagnoses(session: Session, text: str, *, partial: bool = False) -> ImportReport:
    """Import an ICD-10 (医保版) CSV with columns code,name (upsert by code)."""
    rows = _read_csv(text, DIAGNOSIS_COLUMNS)
    good: dict[str, str] = {}
    problems: list[ImportProblem] = []
    for line, raw in rows:
        name = (raw.get("name") or "").strip()
        try:
            code = check_diagnosis_code(raw.get("code") or "")
        except YilianError as exc:
            problems.append(ImportProblem(line=line, code=(raw.get("code") or "").strip(), reason=exc.detail))
            continue
        if not name:
            problems.append(ImportProblem(line=line, code=code, reason="诊断名称不能为空"))
            continue
        if code in good:
            problems.append(ImportProblem(line=line, code=code, reason="文件中编码重复"))
            continue
        good[code] = name
    applied = partial or not problems
    created = updated = 0
    if applied:
        existing = repo.diagnoses_by_code(session, list(good))
        for code, name in good.items():
            if code in existing:
                existing[code].name = name
                existing[code].is_active = True
                updated += 1
            else:
                session.add(DiagnosisCode(code=code, name=name, is_active=True))
                created += 1
        session.flush()
    return ImportReport(rows=len(rows), created=created, updated=updated, rejected=problems, applied=applied)
