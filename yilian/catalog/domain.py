"""Pure rules of the catalogue: item kinds, insurance classes, code formats and row checks.

Codes follow the national insurance (NHSA) formats: medical service items (医疗服务项目) 15 digits
in the published catalogue (some local codes carry a letter suffix), drugs 23 characters starting
with X (western) or Z (Chinese patent medicine) or T (herbal pieces, 中药饮片), medical
consumables (医用耗材) 20 characters starting with C; diagnoses are ICD-10 医保版 codes such as
``E11.900`` or ``E11.900x001``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from yilian.catalog.errors import (
    InvalidCatalogRow,
    InvalidDiagnosisCode,
    InvalidItemCode,
    InvalidProcedureCode,
)
from yilian.kit.money import Fen, MoneyFormatError, parse_yuan


class ItemKind(StrEnum):
    """What an order or bill line is."""

    DRUG = "drug"  # 处方 (western / Chinese patent / herbal)
    LAB = "lab"  # 检验
    EXAM = "exam"  # 检查
    TREATMENT = "treatment"  # 治疗
    MATERIAL = "material"  # 耗材
    CONSULTATION = "consultation"  # 挂号 / 诊察

    @property
    def label(self) -> str:
        return {
            "drug": "药品",
            "lab": "检验",
            "exam": "检查",
            "treatment": "治疗",
            "material": "耗材",
            "consultation": "诊察",
        }[self.value]


class InsuranceClass(StrEnum):
    """Insurance class of an item: 甲 fully eligible, 乙 with a self-paid first share, 丙 self-paid."""

    A = "甲"
    B = "乙"
    C = "丙"


_SERVICE = re.compile(r"^\d{15}[A-Z0-9]{0,4}$")
_DRUG = re.compile(r"^[XZT][A-Z0-9]{22}$")
_MATERIAL = re.compile(r"^C[A-Z0-9]{19}$")
_ICD10_PART = r"[A-Z]\d{2}(\.[0-9x]\d{0,2}(x\d{3})?)?"
#: ``E11.900``, ``E11.900x001``, ``J18``, dagger/asterisk pairs ``A18.303+K93.0*`` of the 医保版 table
_ICD10 = re.compile(rf"^{_ICD10_PART}(\+{_ICD10_PART}\*|[+*])?$")
#: ICD-9-CM-3 医保版: ``51.2201``, ``31.1x00x005``, ``96.7101``
_ICD9CM3 = re.compile(r"^\d{2}(\.[0-9A-Za-z]{1,12})?$")


def check_item_code(code: str, kind: ItemKind) -> str:
    """Return a normalised item code, or refuse one that does not fit its kind."""
    code = (code or "").strip().upper()
    if kind is ItemKind.DRUG:
        if not _DRUG.match(code):
            raise InvalidItemCode(f"药品编码应为 23 位，以 X、Z 或 T 开头: {code}")
    elif kind is ItemKind.MATERIAL:
        if not _MATERIAL.match(code):
            raise InvalidItemCode(f"耗材编码应为 20 位，以 C 开头: {code}")
    elif not _SERVICE.match(code):
        raise InvalidItemCode(f"医疗服务项目编码应为 15 位数字（可带字母后缀）: {code}")
    return code


def check_diagnosis_code(code: str) -> str:
    """Return a normalised ICD-10 (医保版) code, or refuse it: ``E11.900``, ``E11.900x001``, ``J18``."""
    normalised = (code or "").strip()
    normalised = normalised[:1].upper() + normalised[1:]
    if not _ICD10.match(normalised):
        raise InvalidDiagnosisCode(f"诊断编码应为 ICD-10 医保版格式，例如 E11.900 或 E11.900x001: {code}")
    return normalised


def check_procedure_code(code: str) -> str:
    """Return a normalised ICD-9-CM-3 (医保版) code, or refuse it: ``51.2201``, ``31.1x00x005``."""
    normalised = (code or "").strip()
    if not _ICD9CM3.match(normalised):
        raise InvalidProcedureCode(f"手术操作编码应为 ICD-9-CM-3 医保版格式，例如 51.2201: {code}")
    return normalised


@dataclass(frozen=True)
class ItemRestrictions:
    """Payment limits of an item (医保限定支付范围), used by order entry and the insurance audit."""

    sex: str | None = None  # "1" male only, "2" female only
    min_age: int | None = None
    max_age: int | None = None
    indications: tuple[str, ...] = ()  # diagnosis code prefixes
    settings: tuple[str, ...] = ()  # "outpatient" / "inpatient"
    min_level: int | None = None  # lowest institution level allowed

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, ())}


@dataclass(frozen=True)
class CatalogRow:
    """One checked row of a catalogue file."""

    code: str
    kind: ItemKind
    name: str
    unit: str
    price_fen: Fen
    insurance_class: InsuranceClass
    self_pay_permille: int  # 乙类 先行自付 share in ‰ (e.g. 100 = 10 %)
    spec: str = ""
    restrictions: ItemRestrictions = field(default_factory=ItemRestrictions)


def parse_catalog_row(raw: dict[str, str]) -> CatalogRow:
    """Check one CSV row of the price catalogue (layout in docs/catalog.md)."""
    try:
        kind = ItemKind((raw.get("kind") or "").strip())
    except ValueError as exc:
        raise InvalidCatalogRow(
            f"项目类别应为 {', '.join(k.value for k in ItemKind)}: {raw.get('kind')}"
        ) from exc
    code = check_item_code(raw.get("code", ""), kind)
    name = (raw.get("name") or "").strip()
    if not name or len(name) > 200:
        raise InvalidCatalogRow("项目名称不能为空且不超过 200 字")
    unit = (raw.get("unit") or "").strip()
    if not unit:
        raise InvalidCatalogRow("计价单位不能为空")
    try:
        price = parse_yuan(raw.get("price_yuan") or "")
    except MoneyFormatError as exc:
        raise InvalidCatalogRow(f"单价（元）无效: {raw.get('price_yuan')}") from exc
    if price < 0:
        raise InvalidCatalogRow("单价不能为负数")
    try:
        klass = InsuranceClass((raw.get("insurance_class") or "").strip())
    except ValueError as exc:
        raise InvalidCatalogRow(f"医保类别应为 甲、乙 或 丙: {raw.get('insurance_class')}") from exc
    share_text = (raw.get("self_pay_ratio") or "").strip() or "0"
    try:
        share = Decimal(share_text)
    except InvalidOperation as exc:
        raise InvalidCatalogRow(f"先行自付比例无效: {share_text}") from exc
    if not Decimal(0) <= share <= Decimal(1):
        raise InvalidCatalogRow("先行自付比例应在 0 到 1 之间")
    if klass is not InsuranceClass.B and share != 0:
        raise InvalidCatalogRow("只有乙类项目有先行自付比例")
    permille = share * 1000
    if permille != permille.to_integral_value():
        raise InvalidCatalogRow("先行自付比例最多精确到千分之一")
    restrictions = _restrictions(raw)
    return CatalogRow(
        code=code,
        kind=kind,
        name=name,
        unit=unit,
        price_fen=price,
        insurance_class=klass,
        self_pay_permille=int(permille),
        spec=(raw.get("spec") or "").strip(),
        restrictions=restrictions,
    )


def _restrictions(raw: dict[str, str]) -> ItemRestrictions:
    sex = (raw.get("limit_sex") or "").strip() or None
    if sex not in (None, "1", "2"):
        raise InvalidCatalogRow("限定性别应为 1（男）或 2（女）")

    def _age(key: str) -> int | None:
        text = (raw.get(key) or "").strip()
        if not text:
            return None
        if not text.isdigit() or int(text) > 150:
            raise InvalidCatalogRow(f"{key} 应为 0–150 的整数")
        return int(text)

    min_age, max_age = _age("limit_min_age"), _age("limit_max_age")
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InvalidCatalogRow("限定最小年龄大于最大年龄")
    indications = tuple(
        p.strip().upper() for p in (raw.get("limit_indications") or "").split("|") if p.strip()
    )
    settings = tuple(s.strip() for s in (raw.get("limit_settings") or "").split("|") if s.strip())
    for s in settings:
        if s not in ("outpatient", "inpatient"):
            raise InvalidCatalogRow("限定就医类型应为 outpatient 或 inpatient")
    level_text = (raw.get("limit_min_level") or "").strip()
    if level_text and level_text not in ("0", "1", "2", "3"):
        raise InvalidCatalogRow("限定最低机构级别应为 0–3")
    return ItemRestrictions(
        sex=sex,
        min_age=min_age,
        max_age=max_age,
        indications=indications,
        settings=settings,
        min_level=int(level_text) if level_text else None,
    )
