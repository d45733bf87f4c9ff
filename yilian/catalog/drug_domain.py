"""Pure drug knowledge (药品知识库): frequencies (给药频次), routes (给药途径), dose units, the facts of a
drug (strength, package, ingredients, class, dose limits, pregnancy and lactation categories, controlled
class) and the quantity to dispense in the package unit from dose × frequency × days (rounded up).

Every area that prescribes or reviews reads these; they live low, in catalog (ARCHITECTURE.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from yilian.catalog.errors import InvalidDose
from yilian.kit.errors import found


@dataclass(frozen=True)
class Frequency:
    """A dosing frequency: its code as doctors write it, the Chinese label and doses per day."""

    code: str
    label: str
    per_day: Fraction
    note: str = ""


FREQUENCIES: dict[str, Frequency] = {
    f.code: f
    for f in (
        Frequency("qd", "每日1次", Fraction(1)),
        Frequency("bid", "每日2次", Fraction(2)),
        Frequency("tid", "每日3次", Fraction(3)),
        Frequency("qid", "每日4次", Fraction(4)),
        Frequency("qn", "每晚1次", Fraction(1)),
        Frequency("q8h", "每8小时1次", Fraction(3)),
        Frequency("q12h", "每12小时1次", Fraction(2)),
        Frequency("qw", "每周1次", Fraction(1, 7)),
        Frequency("biw", "每周2次", Fraction(2, 7)),
        Frequency("st", "立即（单次）", Fraction(0), note="单次给药，只计一次"),
        Frequency("prn", "必要时", Fraction(1), note="按需给药，按每日1次计量"),
    )
}

ROUTES: dict[str, str] = {
    "po": "口服",
    "sl": "舌下含服",
    "ih": "皮下注射",
    "im": "肌内注射",
    "iv": "静脉注射",
    "ivgtt": "静脉滴注",
    "inh": "吸入",
    "ext": "外用",
}

# units that convert into one another: a dose may be written in any unit of its dimension
_SCALE: dict[str, tuple[str, Decimal]] = {
    "g": ("mass", Decimal(1_000_000)),
    "mg": ("mass", Decimal(1_000)),
    "μg": ("mass", Decimal(1)),
    "ug": ("mass", Decimal(1)),
    "L": ("volume", Decimal(1000)),
    "ml": ("volume", Decimal(1)),
    "单位": ("units", Decimal(1)),
    "IU": ("units", Decimal(1)),
}


def frequency(code: str) -> Frequency:
    """Return a frequency by its code, or refuse an unknown one."""
    return found(
        FREQUENCIES.get((code or "").strip().lower()),
        InvalidDose(f"未知的给药频次: {code}（可用: {', '.join(FREQUENCIES)}）"),
    )


def route_label(code: str) -> str:
    """Return the Chinese label of a route, or refuse an unknown one."""
    return found(ROUTES.get((code or "").strip().lower()), InvalidDose(f"未知的给药途径: {code}"))


def convert(amount: Decimal, unit: str, to: str) -> Decimal | None:
    """Convert an amount between units of one dimension (g → mg …); None when they do not convert."""
    if unit == to:
        return amount
    a, b = _SCALE.get(unit), _SCALE.get(to)
    if a is None or b is None or a[0] != b[0]:
        return None
    return amount * a[1] / b[1]


class Controlled(StrEnum):
    """Special-control class of a drug (麻醉药品 / 第一类精神药品 / 第二类精神药品)."""

    NONE = ""
    NARCOTIC = "narcotic"
    PSYCH1 = "psych1"
    PSYCH2 = "psych2"

    @property
    def label(self) -> str:
        return {
            "": "普通药品",
            "narcotic": "麻醉药品",
            "psych1": "第一类精神药品",
            "psych2": "第二类精神药品",
        }[self.value]


@dataclass(frozen=True)
class DrugFacts:
    """What review and dispensing need to know of one drug (one catalogue item).

    ``strength`` is the active amount in one ``form_unit`` (0.5 g per 片, 100 单位 per ml);
    ``package_size`` is how many form units one package unit (the catalogue item's unit, 盒) holds.
    Dose limits are in ``strength_unit``; ``max_daily_per_kg`` limits children's daily dose by weight.
    """

    item_code: str
    name: str
    form: str  # tablet, capsule, pill, solution, injection, granule
    strength: Decimal
    strength_unit: str
    form_unit: str
    package_size: Decimal
    package_unit: str
    ingredients: tuple[str, ...] = ()
    drug_class: str = ""
    allergy_groups: tuple[str, ...] = ()  # e.g. 青霉素类: an allergy to the group covers the drug
    max_single: Decimal | None = None
    max_daily: Decimal | None = None
    absolute_max_single: Decimal | None = None  # beyond this a dose is refused outright
    max_daily_per_kg: Decimal | None = None
    min_age_years: int | None = None
    frequencies: tuple[str, ...] = ()  # empty: any
    default_route: str = "po"
    pregnancy: str = ""  # FDA categories A, B, C, D, X
    lactation: str = ""  # safe, caution, avoid
    controlled: Controlled = Controlled.NONE
    controlled_release: bool = False
    usage_note: str = ""  # how to take it, printed on the label (餐后服用 …)
    default_dose: Decimal | None = None  # the editor's proposal, in strength_unit
    default_frequency: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_injection(self) -> bool:
        return self.form == "injection"

    def strength_text(self) -> str:
        return f"{number_text(self.strength)}{self.strength_unit}/{self.form_unit}"


@dataclass(frozen=True)
class InteractionPair:
    """Two ingredients (or classes) that interact; severity ``serious`` or ``moderate``."""

    a: str
    b: str
    severity: str
    note: str


@dataclass(frozen=True)
class DispenseQuantity:
    """The package count to dispense, the per-dose amounts and the rule that computed it (shown)."""

    packages: int
    per_dose_form_units: Decimal
    per_dose_strength: Decimal  # in the drug's strength unit, for the dose checks
    total_form_units: Decimal
    rule: str


def number_text(value: Decimal | Fraction | int) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    text = format(Decimal(value).quantize(Decimal("0.001")).normalize(), "f")
    return text


def parse_dose(text: str | Decimal | float | int) -> Decimal:
    """Return a positive dose as a Decimal, or refuse zero, negatives and non-numbers."""
    try:
        dose = Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidDose(f"剂量应为数字: {text}") from exc
    if not dose.is_finite() or dose <= 0:
        raise InvalidDose("剂量必须大于 0")
    return dose


def dose_in_form_units(facts: DrugFacts, dose: Decimal, dose_unit: str) -> Decimal:
    """Return one dose in the drug's form unit (片, 粒, ml …); refuse a unit that does not fit the drug."""
    if dose_unit == facts.form_unit:
        return dose
    in_strength = convert(dose, dose_unit, facts.strength_unit)
    if in_strength is not None:
        return in_strength / facts.strength
    in_form = convert(dose, dose_unit, facts.form_unit)
    if in_form is not None:
        return in_form
    raise InvalidDose(f"剂量单位“{dose_unit}”与{facts.name}的规格（{facts.strength_text()}）不相容")


def dispense_quantity(
    facts: DrugFacts, dose: Decimal, dose_unit: str, freq: Frequency, days: int
) -> DispenseQuantity:
    """Compute the packages to dispense: dose × frequency × days in form units, then divided by the
    package size and rounded up; the returned rule says each step in Chinese."""
    if days < 1:
        raise InvalidDose("用药天数至少 1 天")
    per_dose = dose_in_form_units(facts, dose, dose_unit)
    if freq.per_day == 0:  # a single dose (st)
        total = per_dose
        how_often = f"单次给药 = {number_text(total)}{facts.form_unit}"
    else:
        total = per_dose * Decimal(freq.per_day.numerator) * days / Decimal(freq.per_day.denominator)
        how_often = f"{freq.label} × {days}天 = {number_text(total)}{facts.form_unit}"
    packages = max(1, math.ceil(total / facts.package_size))
    n = number_text
    convert_step = f"每次 {n(dose)}{dose_unit}"
    if dose_unit != facts.form_unit:
        convert_step += f" ÷ {facts.strength_text()} = {n(per_dose)}{facts.form_unit}"
    size = n(facts.package_size)
    rule = (
        f"{convert_step}；{how_often}；每{facts.package_unit}{size}{facts.form_unit}"
        f" → {n(total)} ÷ {size} 向上取整 = {packages}{facts.package_unit}"
    )
    return DispenseQuantity(
        packages=packages,
        per_dose_form_units=per_dose,
        per_dose_strength=per_dose * facts.strength,
        total_form_units=total,
        rule=rule,
    )


def how_to_take(
    facts: DrugFacts, dose: Decimal, dose_unit: str, freq_code: str, route: str, days: int
) -> str:
    """The label line telling the patient how to take a drug (用法用量)."""
    freq = frequency(freq_code)
    text = f"{route_label(route)}，{freq.label}，每次{number_text(dose)}{dose_unit}"
    if freq.per_day:
        text += f"，连用{days}天"
    if facts.usage_note:
        text += f"；{facts.usage_note}"
    return text
