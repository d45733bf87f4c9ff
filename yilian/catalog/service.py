"""Use cases of the catalogue: look-ups for other areas, search, and CSV imports with a report."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from sqlalchemy.orm import Session

from yilian.catalog import repository as repo
from yilian.catalog.domain import (
    CatalogRow,
    check_diagnosis_code,
    check_procedure_code,
    parse_catalog_row,
)
from yilian.catalog.errors import (
    DiagnosisNotFound,
    InvalidCatalogRow,
    ItemNotFound,
    ProcedureNotFound,
    UnknownCodes,
)
from yilian.catalog.models import CatalogItem, DiagnosisCode, ProcedureCode
from yilian.catalog.schemas import ImportProblem, ImportReport
from yilian.kit.clock import utcnow
from yilian.kit.errors import YilianError
from yilian.kit.pinyin import name_initials

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


def search_procedures(session: Session, **filters: object) -> tuple[list[ProcedureCode], int]:
    return repo.search_codes(session, ProcedureCode, **filters)  # type: ignore[arg-type]


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
                existing[code].name_initials = name_initials(name)
                existing[code].is_active = True
                updated += 1
            else:
                session.add(
                    DiagnosisCode(code=code, name=name, name_initials=name_initials(name), is_active=True)
                )
                created += 1
        session.flush()
    return ImportReport(rows=len(rows), created=created, updated=updated, rejected=problems, applied=applied)


# ---------------------------------------------------------------------- ICD code tables (医保版)
#
# One code list for every area: order entry, the doctor's record, the discharge abstract, the
# insurance audit and the DRG grouper read diagnoses and procedures through these functions.

CodeKind = Literal["diagnosis", "procedure"]
_MODELS: dict[str, type[DiagnosisCode] | type[ProcedureCode]] = {
    "diagnosis": DiagnosisCode,
    "procedure": ProcedureCode,
}
_KIND_NAMES = {"diagnosis": "诊断", "procedure": "手术操作"}
#: the national insurance edition shipped as package data (yilian/catalog/data, see its NOTICE)
SHIPPED_TABLES = {"diagnosis": "icd10_chs.tsv.gz", "procedure": "icd9cm3_chs.tsv.gz"}


@dataclass(frozen=True)
class CodeEntry:
    """A code of the 医保版 tables as other areas see it."""

    kind: str
    code: str
    name: str
    name_initials: str

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


def _entry(kind: str, row: DiagnosisCode | ProcedureCode) -> CodeEntry:
    return CodeEntry(kind, row.code, row.name, row.name_initials)


def _check(kind: str, code: str) -> str:
    return check_diagnosis_code(code) if kind == "diagnosis" else check_procedure_code(code)


def shipped_table_rows(kind: CodeKind) -> list[tuple[str, str, str]]:
    """(code, name, pinyin initials) of the table shipped with yilian."""
    data = resources.files("yilian.catalog") / "data" / SHIPPED_TABLES[kind]
    text = gzip.decompress(data.read_bytes()).decode("utf-8")
    out = []
    for line in text.splitlines():
        code, name, initials = (line.split("\t") + ["", ""])[:3]
        if code:
            out.append((code, name, initials))
    return out


def parse_code_table(kind: CodeKind, text: str) -> tuple[list[tuple[str, str, str]], list[ImportProblem]]:
    """Rows of a code table in the published layout (``CODE NAME`` a line, or tab-separated), with the
    lines that cannot be used (bad format, no name, duplicate)."""
    rows: list[tuple[str, str, str]] = []
    problems: list[ImportProblem] = []
    seen: set[str] = set()
    for line_no, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        raw_code, _, rest = line.strip().replace("\t", " ", 1).partition(" ")
        name = rest.split("\t")[0].strip()
        try:
            code = _check(kind, raw_code)
        except YilianError as exc:
            problems.append(ImportProblem(line=line_no, code=raw_code, reason=exc.detail))
            continue
        if not name:
            problems.append(ImportProblem(line=line_no, code=code, reason="名称不能为空"))
            continue
        if code in seen:
            continue  # a repeated line of the publication: same code, same name
        seen.add(code)
        rows.append((code, name[:200], name_initials(name)))
    return rows, problems


def load_code_table(
    session: Session, kind: CodeKind, rows: Sequence[tuple[str, str, str]] | None = None
) -> ImportReport:
    """Add the codes of a table that are not stored yet (default: the shipped 医保版 table) and update
    the names of the others. Bulk insert: the 33,304 diagnoses load in about a second."""
    model = _MODELS[kind]
    rows = shipped_table_rows(kind) if rows is None else rows
    existing = repo.all_codes(session, model)
    new = [
        {"code": c, "name": n, "name_initials": i, "is_active": True} for c, n, i in rows if c not in existing
    ]
    repo.bulk_insert_codes(session, model, new)
    updated = 0
    changed = {c: (n, i) for c, n, i in rows if c in existing}
    if changed:
        for code, row in repo.codes_by_code(session, model, list(changed)).items():
            name, initials = changed[code]
            if row.name != name or row.name_initials != initials or not row.is_active:
                row.name, row.name_initials, row.is_active = name, initials, True
                updated += 1
    session.flush()
    return ImportReport(rows=len(rows), created=len(new), updated=updated, rejected=[], applied=True)


def search_codes(session: Session, kind: CodeKind, q: str = "", *, limit: int = 20) -> list[CodeEntry]:
    """Look codes up while a person types: code prefix (``K35.8``), part of the name (``阑尾``) or
    pinyin initials (``jxlwy`` 急性阑尾炎)."""
    rows, _ = repo.search_codes(session, _MODELS[kind], q=q, offset=0, limit=limit)
    return [_entry(kind, r) for r in rows]


def code_entries(session: Session, kind: CodeKind, codes: Sequence[str]) -> dict[str, CodeEntry]:
    """The active entries of ``codes`` that exist (unknown codes are simply absent)."""
    found = repo.codes_by_code(session, _MODELS[kind], [c.strip() for c in codes if c and c.strip()])
    return {c: _entry(kind, r) for c, r in found.items() if r.is_active}


def unknown_codes(session: Session, kind: CodeKind, codes: Sequence[str]) -> list[str]:
    """The codes (in their order) that are not active codes of the table."""
    known = code_entries(session, kind, codes)
    return [c for c in dict.fromkeys(c.strip() for c in codes if c and c.strip()) if c not in known]


def require_codes(session: Session, kind: CodeKind, codes: Sequence[str]) -> list[CodeEntry]:
    """Where a person types codes (discharge abstract, the doctor's record, the DRG page): the entries of
    ``codes`` in order, or :class:`UnknownCodes` naming every code that is malformed or not in the
    医保版 table."""
    cleaned = [c.strip() for c in codes if c and c.strip()]
    bad: list[str] = []
    for c in cleaned:
        try:
            _check(kind, c)
        except YilianError:
            bad.append(c)
    known = code_entries(session, kind, cleaned)
    missing = [c for c in dict.fromkeys(cleaned) if c not in known and c not in bad]
    if bad or missing:
        what = _KIND_NAMES[kind]
        parts = []
        if bad:
            parts.append(f"格式不正确：{'、'.join(bad)}")
        if missing:
            parts.append(f"不在医保版{what}编码表中：{'、'.join(missing)}")
        raise UnknownCodes(f"{what}编码" + "；".join(parts) + "。请从编码表中选择。")
    return [known[c] for c in cleaned]


def get_procedure(session: Session, code: str) -> ProcedureCode:
    """Return a procedure by ICD-9-CM-3 code or raise ProcedureNotFound."""
    normalised = check_procedure_code(code)
    found: ProcedureCode | None = repo.codes_by_code(session, ProcedureCode, [normalised]).get(normalised)
    if found is None or not found.is_active:
        raise ProcedureNotFound(f"手术操作编码不在目录中: {normalised}")
    return found


def code_names(session: Session) -> dict[str, str]:
    """Every active diagnosis and procedure code with its name (the two code formats never collide)."""
    out = repo.active_names(session, DiagnosisCode)
    out.update(repo.active_names(session, ProcedureCode))
    return out


def code_table_sizes(session: Session) -> tuple[int, int]:
    """(diagnoses, procedures) stored: lets a cache of :func:`code_names` notice a new import."""
    return repo.code_count(session, DiagnosisCode), repo.code_count(session, ProcedureCode)


def common_diagnoses(session: Session) -> list[CodeEntry]:
    """The short list of common diagnoses (``data/common_icd10.txt``) that are in the code table."""
    text = (resources.files("yilian.catalog") / "data" / "common_icd10.txt").read_text(encoding="utf-8")
    codes = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    found = code_entries(session, "diagnosis", codes)
    return [found[c] for c in codes if c in found]
