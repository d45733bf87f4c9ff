"""The indicator registry (指标定义) as data, and the pure arithmetic that turns monthly measures into
indicator values. A *measure* is a number stored per (month, institution, department) by the refresh;
an *indicator* is what a person reads: a measure itself, or a ratio of two sums of measures.

Distinct measures (beneficiaries: distinct patients) are not additive over months or departments; the
refresh keeps their keys and the repository counts them distinct over the chosen range.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yilian.analytics.errors import InvalidPeriod, UnknownIndicator


class Unit(StrEnum):
    COUNT = "人次"
    PEOPLE = "人"
    CASES = "例"
    FEN = "元"  # stored in fen, shown in yuan
    RATE = "%"
    INDEX = "指数"
    DAYS = "天"
    TIMES = "次"


# Grains an indicator can be cut by (where the source carries them).
CITY, INSTITUTION, DEPARTMENT = "city", "institution", "department"
GRAIN_LABELS = {CITY: "全市", INSTITUTION: "机构", DEPARTMENT: "科室"}

# Every stored measure; DISTINCT ones are counted over keys.
MEASURES = (
    "visits",
    "grassroots_visits",
    "credit_visits",
    "credit_amount_fen",
    "three_day_registrations",
    "return_visits",
    "fees_waived_fen",
    "results_prompts",
    "results_recognised",
    "results_not_recognised",
    "results_fee_saved_fen",
    "audit_findings",
    "audit_amount_fen",
    "audit_confirmed",
    "audit_confirmed_fen",
    "drg_cases",
    "drg_weight_e4",
    "drg_cost_fen",
    "drg_payment_fen",
    "occupied_bed_days",
    "open_bed_days",
    "admissions",
    "discharges",
    "discharged_bed_days",
    "preadmissions",
    "preadmission_days_saved",
    "decoctions_finished",
    "decoctions_on_time",
    "referrals_up",
    "referrals_up_received",
    "referrals_down",
    "referrals_down_sent",
    "expert_sitting_days",
)
DISTINCT_MEASURES = ("credit_beneficiaries",)


@dataclass(frozen=True)
class Indicator:
    """One indicator: what it means, how it is computed and where it comes from."""

    code: str
    name: str
    formula: str  # in Chinese, as the docs state it
    unit: Unit
    source: str  # the area whose figures it reads
    topic: str  # the report section (门诊服务, 便民惠民, 住院服务, 医保管理, 中医药, 医联体)
    numerator: str  # a measure
    denominator: str | None = None  # a measure, or None for a plain sum
    scale: int = 1  # ratio × scale (100 for a percentage); per-day measures use "days"
    grains: tuple[str, ...] = (CITY, INSTITUTION, DEPARTMENT)
    times: tuple[str, ...] = ("month", "year")
    target: str = ""  # the target or national benchmark, where one exists
    available: bool = True  # False while its source area is not in the platform yet
    higher_is_better: bool = True

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None


def _i(**kw: object) -> Indicator:
    return Indicator(**kw)  # type: ignore[arg-type]


INDICATORS: tuple[Indicator, ...] = (
    _i(
        code="visits",
        name="门急诊人次",
        formula="门急诊就诊记录数",
        unit=Unit.COUNT,
        source="outpatient",
        topic="门诊服务",
        numerator="visits",
    ),
    _i(
        code="grassroots_share",
        name="基层就诊占比",
        formula="基层医疗卫生机构门急诊人次 ÷ 全市门急诊人次 × 100%",
        unit=Unit.RATE,
        source="outpatient",
        topic="医联体",
        numerator="grassroots_visits",
        denominator="visits",
        scale=100,
        grains=(CITY,),
        target="≥ 65%（分级诊疗目标）",
    ),
    _i(
        code="credit_visits",
        name="先诊疗后付费人次",
        formula="有信用挂账费用的就诊数（去重）",
        unit=Unit.COUNT,
        source="billing",
        topic="便民惠民",
        numerator="credit_visits",
    ),
    _i(
        code="credit_beneficiaries",
        name="先诊疗后付费受益人数",
        formula="有信用挂账费用的患者数（区间内去重）",
        unit=Unit.PEOPLE,
        source="billing",
        topic="便民惠民",
        numerator="credit_beneficiaries",
    ),
    _i(
        code="credit_amount",
        name="先诊疗后付费金额",
        formula="信用挂账的患者自付部分之和",
        unit=Unit.FEN,
        source="billing",
        topic="便民惠民",
        numerator="credit_amount_fen",
    ),
    _i(
        code="three_day_registrations",
        name="一号管三天挂号数",
        formula="享受一号管三天的已确认挂号数",
        unit=Unit.COUNT,
        source="scheduling",
        topic="便民惠民",
        numerator="three_day_registrations",
    ),
    _i(
        code="return_visits",
        name="一号管三天免费复诊人次",
        formula="三天内免挂号费复诊次数",
        unit=Unit.COUNT,
        source="scheduling",
        topic="便民惠民",
        numerator="return_visits",
    ),
    _i(
        code="fees_waived",
        name="一号管三天减免挂号费",
        formula="免费复诊减免的挂号费之和",
        unit=Unit.FEN,
        source="scheduling",
        topic="便民惠民",
        numerator="fees_waived_fen",
    ),
    _i(
        code="results_recognised",
        name="检查检验结果互认次数",
        formula="医生决定“互认”的提示数",
        unit=Unit.TIMES,
        source="results",
        topic="便民惠民",
        numerator="results_recognised",
    ),
    _i(
        code="recognition_rate",
        name="结果互认率",
        formula="互认数 ÷（互认数 + 不互认数）× 100%",
        unit=Unit.RATE,
        source="results",
        topic="便民惠民",
        numerator="results_recognised",
        denominator="results_decided",
        scale=100,
    ),
    _i(
        code="results_fee_saved",
        name="结果互认节省费用",
        formula="互认免做项目的收费之和",
        unit=Unit.FEN,
        source="results",
        topic="便民惠民",
        numerator="results_fee_saved_fen",
    ),
    _i(
        code="audit_findings",
        name="医保智能审核疑点数",
        formula="审核规则命中的疑点数（按服务日期）",
        unit=Unit.TIMES,
        source="insurance",
        topic="医保管理",
        numerator="audit_findings",
        grains=(CITY,),
        higher_is_better=False,
    ),
    _i(
        code="audit_amount",
        name="医保审核疑点金额",
        formula="疑点涉及金额之和",
        unit=Unit.FEN,
        source="insurance",
        topic="医保管理",
        numerator="audit_amount_fen",
        grains=(CITY,),
        higher_is_better=False,
    ),
    _i(
        code="audit_recovered",
        name="医保审核确认追回金额",
        formula="经复核确认违规的疑点金额之和",
        unit=Unit.FEN,
        source="insurance",
        topic="医保管理",
        numerator="audit_confirmed_fen",
        grains=(CITY,),
    ),
    _i(
        code="drg_cases",
        name="DRG 入组病例数",
        formula="已入组且有权重的出院病例数（按出院日期）",
        unit=Unit.CASES,
        source="drg",
        topic="医保管理",
        numerator="drg_cases",
        grains=(CITY,),
    ),
    _i(
        code="cmi",
        name="病例组合指数 CMI",
        formula="入组病例权重之和 ÷ 入组病例数",
        unit=Unit.INDEX,
        source="drg",
        topic="医保管理",
        numerator="drg_weight_e4",
        denominator="drg_cases",
        scale=1,
        grains=(CITY,),
        target="三级医院 ≥ 1.0",
    ),
    _i(
        code="drg_balance",
        name="DRG 结算盈亏",
        formula="DRG 支付标准之和 − 实际费用之和",
        unit=Unit.FEN,
        source="drg",
        topic="医保管理",
        numerator="drg_balance_fen",
        grains=(CITY,),
    ),
    _i(
        code="bed_occupancy",
        name="病床使用率",
        formula="实际占用总床日数 ÷ 实际开放总床日数 × 100%",
        unit=Unit.RATE,
        source="inpatient",
        topic="住院服务",
        numerator="occupied_bed_days",
        denominator="open_bed_days",
        scale=100,
        target="85%–93%（三级公立医院绩效考核）",
    ),
    _i(
        code="bed_turnover",
        name="病床周转次数",
        formula="出院人数 ÷ 平均开放床位数",
        unit=Unit.TIMES,
        source="inpatient",
        topic="住院服务",
        numerator="discharges",
        denominator="open_beds",
    ),
    _i(
        code="average_stay",
        name="平均住院日",
        formula="出院者占用总床日数 ÷ 出院人数",
        unit=Unit.DAYS,
        source="inpatient",
        topic="住院服务",
        numerator="discharged_bed_days",
        denominator="discharges",
        target="≤ 8 天（三级公立医院绩效考核参考）",
        higher_is_better=False,
    ),
    _i(
        code="admissions",
        name="入院人次",
        formula="区间内入院人数",
        unit=Unit.COUNT,
        source="inpatient",
        topic="住院服务",
        numerator="admissions",
    ),
    _i(
        code="preadmission_days_saved",
        name="预住院节省床日",
        formula="预住院登记至正式入院之间的天数之和",
        unit=Unit.DAYS,
        source="inpatient",
        topic="住院服务",
        numerator="preadmission_days_saved",
    ),
    _i(
        code="decoction_on_time",
        name="代煎准时率",
        formula="按承诺时间前煎好的代煎数 ÷ 煎好的代煎数 × 100%",
        unit=Unit.RATE,
        source="pharmacy",
        topic="中医药",
        numerator="decoctions_on_time",
        denominator="decoctions_finished",
        scale=100,
        grains=(CITY, INSTITUTION),
        target="≥ 95%",
    ),
    _i(
        code="referrals_up",
        name="上转人次",
        formula="医联体成员机构向上级医院申请转诊的人次（按申请日期，计入转出机构）",
        unit=Unit.COUNT,
        source="alliance",
        topic="医联体",
        numerator="referrals_up",
        grains=(CITY, INSTITUTION),
    ),
    _i(
        code="referrals_down",
        name="下转人次",
        formula="上级医院向医联体基层成员转诊的人次（按申请日期，计入接收机构、科室）",
        unit=Unit.COUNT,
        source="alliance",
        topic="医联体",
        numerator="referrals_down",
    ),
    _i(
        code="referrals_up_received",
        name="接收上转人次",
        formula="本院（科室）收到的上转申请人次（按申请日期，计入接收机构、科室）",
        unit=Unit.COUNT,
        source="alliance",
        topic="医联体",
        numerator="referrals_up_received",
        grains=(INSTITUTION, DEPARTMENT),
    ),
    _i(
        code="referrals_down_sent",
        name="下转转出人次",
        formula="本院向基层成员下转的人次（按申请日期，计入转出机构）",
        unit=Unit.COUNT,
        source="alliance",
        topic="医联体",
        numerator="referrals_down_sent",
        grains=(INSTITUTION,),
    ),
    _i(
        code="expert_sitting_days",
        name="专家下沉坐诊天数",
        formula="上级医院派驻专家到成员机构实际坐诊（已到岗）的天数之和（按坐诊日期，计入坐诊机构、科室）",
        unit=Unit.DAYS,
        source="alliance",
        topic="医联体",
        numerator="expert_sitting_days",
    ),
)
BY_CODE = {i.code: i for i in INDICATORS}
TOPICS = ("门诊服务", "便民惠民", "住院服务", "医保管理", "中医药", "医联体")
HEADLINE = ("visits", "credit_visits", "return_visits", "results_fee_saved", "bed_occupancy", "cmi")


def indicator(code: str) -> Indicator:
    try:
        return BY_CODE[code]
    except KeyError:
        raise UnknownIndicator(f"没有指标“{code}”") from None


# ---------------------------------------------------------------- months


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
            raise InvalidPeriod(f"月份“{text}”应写作 YYYY-MM，如 2026-10")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def shift(self, months: int) -> Month:
        n = self.year * 12 + self.month - 1 + months
        return Month(n // 12, n % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"


def months_between(first: Month, last: Month) -> list[Month]:
    if last < first:
        raise InvalidPeriod("结束月份不能早于开始月份")
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    if n > 36:
        raise InvalidPeriod("统计区间最长 36 个月")
    return [first.shift(i) for i in range(n)]


def same_period_last_year(first: Month, last: Month) -> tuple[Month, Month]:
    return first.shift(-12), last.shift(-12)


# ---------------------------------------------------------------- values


def derived(sums: dict[str, int], days: int) -> dict[str, int]:
    """Add the measures computed from others: decided prompts, DRG balance, average open beds."""
    out = dict(sums)
    out["results_decided"] = sums.get("results_recognised", 0) + sums.get("results_not_recognised", 0)
    out["drg_balance_fen"] = sums.get("drg_payment_fen", 0) - sums.get("drg_cost_fen", 0)
    # open beds on average over the range: open bed-days ÷ days (×10⁴ to keep the division exact enough)
    out["open_beds_e4"] = sums.get("open_bed_days", 0) * 10_000 // days if days else 0
    return out


def value(ind: Indicator, sums: dict[str, int], days: int) -> float | int | None:
    """The indicator's value from summed measures of a range of ``days`` days; None when a ratio has no
    denominator or the indicator is not available yet. Money stays in fen."""
    if not ind.available:
        return None
    s = derived(sums, days)
    top = s.get(ind.numerator, 0)
    if ind.denominator is None:
        return int(top)
    if ind.denominator == "open_beds":
        beds_e4 = s["open_beds_e4"]
        return round(top * 10_000 / beds_e4, 2) if beds_e4 else None
    bottom = s.get(ind.denominator, 0)
    if not bottom:
        return None
    if ind.numerator == "drg_weight_e4":
        return round(top / 10_000 / bottom, 4)
    return round(top * ind.scale / bottom, 2)


def change(current: float | int | None, before: float | int | None) -> float | None:
    """Change against the same period last year in percent (同比), None without a base."""
    if current is None or before is None or before == 0:
        return None
    return round((current - before) * 100 / before, 1)


def display(ind: Indicator, v: float | int | None) -> str:
    """The value as a person reads it (yuan with two decimals, percentages, indexes)."""
    if v is None:
        return "—" if ind.available else "暂未接入"
    if ind.unit is Unit.FEN:
        return f"{v / 100:,.2f} 元"
    if ind.unit is Unit.RATE:
        return f"{v:.1f}%"
    if ind.unit is Unit.INDEX:
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:,.2f} {ind.unit.value}"
    return f"{v:,} {ind.unit.value}"


def grassroots(category: str) -> bool:
    """Grassroots institutions (基层医疗卫生机构): community centres, township hospitals, village clinics."""
    return category in ("community_centre", "township_hospital", "village_clinic")
