"""Pure rules of prescriptions (处方) and their pre-dispensing review (前置审方).

Kinds and their limits follow 《处方管理办法》(2007): ordinary (普通) at most 7 days, emergency (急诊) 3,
paediatric (儿科) 7, narcotic and class-1 psychotropic (麻醉 / 精一) injections one dose, controlled-release
7, other forms 3, class-2 psychotropic (精二) 7; a long prescription (长期处方) for a chronic patient up to
12 weeks; at most 5 drugs per prescription. The review rules are data: each has a code, a severity and
a Chinese message template; ``review`` returns the findings of a prescription for a patient
(《医疗机构处方审核规范》2018: dose, frequency, allergy, duplicate therapy, interactions, special
populations, days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import combinations

from yilian.catalog.drug_domain import (
    Controlled,
    DrugFacts,
    InteractionPair,
    dispense_quantity,
    frequency,
)
from yilian.catalog.drug_domain import number_text as num

MAX_DRUGS = 5
LONG_TERM_DAYS = 84  # 长期处方: up to 12 weeks
PAEDIATRIC_AGE = 14  # 儿科处方 for patients under 14


class PrescriptionKind(StrEnum):
    NORMAL = "normal"
    EMERGENCY = "emergency"
    PAEDIATRIC = "paediatric"
    NARCOTIC = "narcotic"  # 麻醉药品和第一类精神药品
    PSYCH2 = "psych2"  # 第二类精神药品

    @property
    def label(self) -> str:
        return {
            "normal": "普通处方",
            "emergency": "急诊处方",
            "paediatric": "儿科处方",
            "narcotic": "麻醉/精一处方",
            "psych2": "精二处方",
        }[self.value]

    @property
    def colour(self) -> str:
        """The paper colour kept on screen and print (ordinary white … narcotic pale red)."""
        return {
            "normal": "#ffffff",
            "emergency": "#fff8d6",
            "paediatric": "#e3f5e1",
            "narcotic": "#fde2e2",
            "psych2": "#ffffff",
        }[self.value]

    @property
    def corner_mark(self) -> str:
        """The mark printed in the top right corner (急诊, 儿科, 麻·精一, 精二)."""
        return {
            "normal": "",
            "emergency": "急诊",
            "paediatric": "儿科",
            "narcotic": "麻·精一",
            "psych2": "精二",
        }[self.value]


class PrescriptionStatus(StrEnum):
    DRAFT = "draft"  # 书写中
    PENDING = "pending"  # 待审方
    RETURNED = "returned"  # 退回医生
    PASSED = "passed"  # 审方通过
    DISPENSED = "dispensed"  # 已发药
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "draft": "书写中",
            "pending": "待审方",
            "returned": "已退回",
            "passed": "审方通过",
            "dispensed": "已发药",
            "cancelled": "已作废",
        }[self.value]


def still_valid(written: date, today: date) -> bool:
    """A prescription is valid on the business day it was written (《处方管理办法》 第十八条)."""
    return today <= written


def max_days(kind: PrescriptionKind, facts: DrugFacts | None = None, *, long_term: bool = False) -> int:
    """The most days of supply a line of ``kind`` may carry (an injection of 麻·精一: one dose, one day)."""
    if kind is PrescriptionKind.NARCOTIC:
        if facts is not None and facts.is_injection:
            return 1
        if facts is not None and facts.controlled_release:
            return 7
        return 3
    if kind is PrescriptionKind.EMERGENCY:
        return 3
    if kind is PrescriptionKind.NORMAL and long_term:
        return LONG_TERM_DAYS
    return 7


def kind_for_controlled(controlled: Controlled) -> PrescriptionKind | None:
    """The kind a controlled drug must be written on (None: any non-controlled kind)."""
    return {
        Controlled.NARCOTIC: PrescriptionKind.NARCOTIC,
        Controlled.PSYCH1: PrescriptionKind.NARCOTIC,
        Controlled.PSYCH2: PrescriptionKind.PSYCH2,
    }.get(controlled)


class Severity(StrEnum):
    SERIOUS = "serious"  # 严重: the pharmacist returns it unless the doctor justifies it
    CAUTION = "caution"  # 提示

    @property
    def label(self) -> str:
        return {"serious": "严重", "caution": "提示"}[self.value]


@dataclass(frozen=True)
class ReviewRule:
    """One review rule: a stable code, what it checks (Chinese), its severity and message template."""

    code: str
    category: str
    severity: Severity
    message: str


REVIEW_RULES: dict[str, ReviewRule] = {
    r.code: r
    for r in (
        ReviewRule("dose_single", "剂量", Severity.SERIOUS, "{drug}单次剂量 {dose} 超过最大单次剂量 {limit}"),
        ReviewRule("dose_daily", "剂量", Severity.SERIOUS, "{drug}日剂量 {dose} 超过最大日剂量 {limit}"),
        ReviewRule(
            "dose_weight",
            "剂量",
            Severity.SERIOUS,
            "{drug}日剂量 {dose} 超过按体重计算的上限 {limit}（{per_kg}/kg × {weight}kg）",
        ),
        ReviewRule(
            "age", "特殊人群", Severity.SERIOUS, "{drug}不宜用于 {min_age} 岁以下患者（患者 {age} 岁）"
        ),
        ReviewRule(
            "frequency", "频次", Severity.CAUTION, "{drug}的给药频次“{freq}”不在推荐频次（{allowed}）内"
        ),
        ReviewRule("allergy", "过敏", Severity.SERIOUS, "患者对“{substance}”过敏，{drug}含该成分或属该类"),
        ReviewRule(
            "duplicate_ingredient", "重复用药", Severity.SERIOUS, "{a}与{b}含相同成分“{what}”，重复用药"
        ),
        ReviewRule("duplicate_class", "重复用药", Severity.CAUTION, "{a}与{b}同属“{what}”，可能重复用药"),
        ReviewRule("interaction", "相互作用", Severity.SERIOUS, "{a}与{b}存在严重相互作用：{note}"),
        ReviewRule("interaction_moderate", "相互作用", Severity.CAUTION, "{a}与{b}存在相互作用：{note}"),
        ReviewRule("pregnancy", "特殊人群", Severity.SERIOUS, "妊娠期患者使用{drug}（妊娠分级 {category}）"),
        ReviewRule("lactation", "特殊人群", Severity.SERIOUS, "哺乳期患者{verb}{drug}"),
        ReviewRule("days", "处方时限", Severity.SERIOUS, "{kind}限 {limit} 天，{drug}开了 {days} 天"),
        ReviewRule(
            "too_many", "处方规范", Severity.SERIOUS, "每张处方不超过 {limit} 种药品，当前 {count} 种"
        ),
        ReviewRule("controlled_kind", "处方规范", Severity.SERIOUS, "{drug}为{controlled}，须开具{kind}"),
        ReviewRule("paediatric_kind", "处方规范", Severity.CAUTION, "患者未满 {age} 岁，宜使用儿科处方"),
    )
}


@dataclass(frozen=True)
class Finding:
    """One review finding: the rule, the line(s) it concerns and its Chinese message."""

    rule: str
    severity: Severity
    category: str
    message: str
    lines: tuple[int, ...] = ()  # indices of the prescription's lines

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "category": self.category,
            "message": self.message,
            "lines": list(self.lines),
        }


def _finding(code: str, lines: tuple[int, ...], **values: object) -> Finding:
    rule = REVIEW_RULES[code]
    return Finding(code, rule.severity, rule.category, rule.message.format(**values), lines)


@dataclass(frozen=True)
class RxLine:
    """A prescription line as review sees it."""

    facts: DrugFacts
    dose: Decimal
    dose_unit: str
    frequency: str
    route: str
    days: int


@dataclass(frozen=True)
class PatientFacts:
    """What review needs to know of the patient."""

    age_years: int
    weight_kg: Decimal | None = None
    allergies: tuple[str, ...] = ()
    pregnant: bool = False
    lactating: bool = False


def _line_findings(
    i: int, line: RxLine, patient: PatientFacts, kind: PrescriptionKind, long_term: bool
) -> list[Finding]:
    f = line.facts
    freq = frequency(line.frequency)
    qty = dispense_quantity(f, line.dose, line.dose_unit, freq, line.days)
    single = qty.per_dose_strength
    daily = single * (
        Decimal(freq.per_day.numerator) / Decimal(freq.per_day.denominator) if freq.per_day else 1
    )
    unit = f.strength_unit
    out: list[Finding] = []
    if f.max_single is not None and single > f.max_single:
        out.append(
            _finding(
                "dose_single",
                (i,),
                drug=f.name,
                dose=f"{num(single)}{unit}",
                limit=f"{num(f.max_single)}{unit}",
            )
        )
    if f.max_daily is not None and daily > f.max_daily:
        out.append(
            _finding(
                "dose_daily", (i,), drug=f.name, dose=f"{num(daily)}{unit}", limit=f"{num(f.max_daily)}{unit}"
            )
        )
    if f.max_daily_per_kg is not None and patient.weight_kg and patient.age_years < PAEDIATRIC_AGE:
        limit = f.max_daily_per_kg * patient.weight_kg
        if daily > limit:
            out.append(
                _finding(
                    "dose_weight",
                    (i,),
                    drug=f.name,
                    dose=f"{num(daily)}{unit}",
                    limit=f"{num(limit)}{unit}",
                    per_kg=f"{num(f.max_daily_per_kg)}{unit}",
                    weight=num(patient.weight_kg),
                )
            )
    if f.min_age_years is not None and patient.age_years < f.min_age_years:
        out.append(_finding("age", (i,), drug=f.name, min_age=f.min_age_years, age=patient.age_years))
    if f.frequencies and freq.code not in f.frequencies:
        out.append(
            _finding("frequency", (i,), drug=f.name, freq=freq.label, allowed="、".join(f.frequencies))
        )
    covered = {*f.ingredients, *f.allergy_groups, f.drug_class}
    for substance in patient.allergies:
        if substance and substance in covered:
            out.append(_finding("allergy", (i,), substance=substance, drug=f.name))
    if patient.pregnant and f.pregnancy in ("D", "X"):
        out.append(_finding("pregnancy", (i,), drug=f.name, category=f.pregnancy))
    if patient.lactating and f.lactation in ("avoid",):
        out.append(_finding("lactation", (i,), verb="禁用", drug=f.name))
    limit_days = max_days(kind, f, long_term=long_term)
    if line.days > limit_days:
        out.append(_finding("days", (i,), kind=kind.label, limit=limit_days, drug=f.name, days=line.days))
    wanted = kind_for_controlled(f.controlled)
    if wanted is not None and kind is not wanted:
        out.append(
            _finding("controlled_kind", (i,), drug=f.name, controlled=f.controlled.label, kind=wanted.label)
        )
    return out


def _pair_findings(lines: Sequence[RxLine], interactions: Sequence[InteractionPair]) -> list[Finding]:
    out: list[Finding] = []
    table = {frozenset((p.a, p.b)): p for p in interactions}
    for (i, x), (j, y) in combinations(enumerate(lines), 2):
        a, b = x.facts, y.facts
        same = sorted(set(a.ingredients) & set(b.ingredients))
        if same:
            out.append(_finding("duplicate_ingredient", (i, j), a=a.name, b=b.name, what="、".join(same)))
        elif a.drug_class and a.drug_class == b.drug_class:
            out.append(_finding("duplicate_class", (i, j), a=a.name, b=b.name, what=a.drug_class))
        for left in (*a.ingredients, a.drug_class):
            for right in (*b.ingredients, b.drug_class):
                pair = table.get(frozenset((left, right)))
                if pair is not None and left != right:
                    code = "interaction" if pair.severity == "serious" else "interaction_moderate"
                    out.append(_finding(code, (i, j), a=a.name, b=b.name, note=pair.note))
    return out


def review(
    lines: Sequence[RxLine],
    patient: PatientFacts,
    kind: PrescriptionKind,
    interactions: Sequence[InteractionPair] = (),
    *,
    long_term: bool = False,
    other_lines: Sequence[RxLine] = (),
) -> list[Finding]:
    """The system's review of a prescription (前置审方): every rule's findings, serious ones first.

    ``other_lines`` are the visit's other prescriptions' lines, checked for duplicates and interactions
    with this one (a drug on the emergency prescription still interacts with one on the ordinary one).
    """
    out: list[Finding] = []
    if len(lines) > MAX_DRUGS:
        out.append(_finding("too_many", (), limit=MAX_DRUGS, count=len(lines)))
    if patient.age_years < PAEDIATRIC_AGE and kind in (PrescriptionKind.NORMAL, PrescriptionKind.EMERGENCY):
        out.append(_finding("paediatric_kind", (), age=PAEDIATRIC_AGE))
    for i, line in enumerate(lines):
        out.extend(_line_findings(i, line, patient, kind, long_term))
    everything = [*lines, *other_lines]
    out.extend(f for f in _pair_findings(everything, interactions) if any(k < len(lines) for k in f.lines))
    order = {Severity.SERIOUS: 0, Severity.CAUTION: 1}
    return sorted(out, key=lambda f: order[f.severity])
