"""The rules of mutual recognition of results (检查检验结果互认): which institution recognises whose results
(the Jiangsu tier matrix, the alliance rule, the 三级 exception), the validity window of a result, the
external quality assessment (室间质评, "QA") a lab result needs, the HR mark, and the assessment of one
stored result for an order. Pure: every number is policy data (``RecognitionPolicy`` and the exam items'
validity), seeded from docs/domain.md §5."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from yilian.results.domain import ExamItem, ItemKind, ResultStatus

# ---------------------------------------------------------------- institutions and the Jiangsu matrix


class Tier(StrEnum):
    """Jiangsu 苏卫医政〔2022〕18号: 二级乙等及以下 (LOW) and 二级甲等及以上 (HIGH)."""

    LOW = "low"
    HIGH = "high"

    @property
    def label(self) -> str:
        return "二级乙等及以下" if self is Tier.LOW else "二级甲等及以上"


def tier_of(level: int, grade: str) -> Tier:
    """Return the recognition tier of an institution from its level (0–3) and grade (甲/乙/丙/"")."""
    if level >= 3 or (level == 2 and grade == "甲"):
        return Tier.HIGH
    return Tier.LOW


@dataclass(frozen=True)
class RecognitionPolicy:
    """Recognition policy data: which receiving tier accepts which source tier, and the alliance rule."""

    matrix: dict[str, dict[str, bool]] = field(
        default_factory=lambda: {
            # receiver tier -> source tier -> recognised
            "low": {"low": True, "high": True},  # 同级互认, 低级认高级
            "high": {"high": True, "low": False},  # 高级不必认低级 (unless the rules below)
        }
    )
    same_alliance_recognised: bool = True  # 医联体内互认
    tier3_accepts_lower_with_qa: bool = False  # 三级医院可认可质量合格的下级结果 (off by default)
    lab_requires_qa: bool = True  # 检验结果须来自室间质评合格的实验室
    imaging_requires_qa: bool = False
    require_hr_mark: bool = False  # 仅认可带 HR 标识机构的结果

    def to_dict(self) -> dict[str, object]:
        return {
            "matrix": self.matrix,
            "same_alliance_recognised": self.same_alliance_recognised,
            "tier3_accepts_lower_with_qa": self.tier3_accepts_lower_with_qa,
            "lab_requires_qa": self.lab_requires_qa,
            "imaging_requires_qa": self.imaging_requires_qa,
            "require_hr_mark": self.require_hr_mark,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RecognitionPolicy:
        default = cls()
        matrix = data.get("matrix", default.matrix)
        if not isinstance(matrix, dict) or set(matrix) != {"low", "high"}:
            raise ValueError("matrix must map low/high to low/high booleans")
        return cls(
            matrix={r: {s: bool(v) for s, v in row.items()} for r, row in matrix.items()},
            same_alliance_recognised=bool(data.get("same_alliance_recognised", True)),
            tier3_accepts_lower_with_qa=bool(data.get("tier3_accepts_lower_with_qa", False)),
            lab_requires_qa=bool(data.get("lab_requires_qa", True)),
            imaging_requires_qa=bool(data.get("imaging_requires_qa", False)),
            require_hr_mark=bool(data.get("require_hr_mark", False)),
        )


@dataclass(frozen=True)
class InstitutionProfile:
    """What recognition needs to know of an institution (from the registry and qualification data)."""

    id: int
    name: str
    level: int
    grade: str
    alliance_id: int | None
    hr_mark: bool = False

    @property
    def tier(self) -> Tier:
        return tier_of(self.level, self.grade)


@dataclass(frozen=True)
class QaRecord:
    """One external quality assessment (室间质评) of an institution's lab discipline."""

    discipline: str
    passed_on: date
    expires_on: date
    passed: bool = True

    def valid_on(self, day: date) -> bool:
        return self.passed and self.passed_on <= day <= self.expires_on


@dataclass(frozen=True)
class CandidateResult:
    """A stored result considered for recognition."""

    result_id: int
    item_code: str
    status: ResultStatus
    result_date: date  # business date (Asia/Shanghai) of the observation
    source: InstitutionProfile


@dataclass(frozen=True)
class Assessment:
    """Whether a result may stand in for an order, and why (or why not)."""

    result_id: int
    qualifies: bool
    why: tuple[str, ...]
    why_not: tuple[str, ...]
    valid_until: date


def valid_until(result_date: date, validity_days: int) -> date:
    """Return the last business day a result is valid: the result day is day 1 (as 一号管三天 counts)."""
    return result_date + timedelta(days=validity_days - 1)


def institution_accepts(
    receiver: InstitutionProfile, source: InstitutionProfile, policy: RecognitionPolicy, *, qa_ok: bool
) -> tuple[bool, str]:
    """Tell whether ``receiver`` recognises results of ``source`` by the matrix and alliance rule, and why."""
    if receiver.id == source.id:
        return True, "本机构结果"
    if (
        policy.same_alliance_recognised
        and receiver.alliance_id is not None
        and (receiver.alliance_id == source.alliance_id)
    ):
        return True, "同一医联体内互认"
    if policy.matrix[receiver.tier.value][source.tier.value]:
        if receiver.tier is source.tier:
            return True, f"同级互认（{source.tier.label}）"
        return True, f"下级认可上级结果（来源{source.tier.label}）"
    if policy.tier3_accepts_lower_with_qa and receiver.level >= 3 and qa_ok:
        return True, "三级医院认可质量合格的下级结果"
    return False, f"{receiver.tier.label}机构不认可{source.tier.label}机构结果"


def assess(
    candidate: CandidateResult,
    *,
    item: ExamItem,
    receiver: InstitutionProfile,
    on: date,
    qa: Sequence[QaRecord],
    policy: RecognitionPolicy,
) -> Assessment:
    """Assess one result for an order of ``item`` at ``receiver`` on business date ``on``."""
    why: list[str] = []
    why_not: list[str] = []
    until = valid_until(candidate.result_date, item.validity_days)
    if candidate.status.is_final:
        why.append(f"结果状态：{candidate.status.label}")
    else:
        why_not.append(f"结果非最终状态（{candidate.status.label}）")
    if candidate.result_date > on:
        why_not.append("结果日期晚于开单日期")
    elif on <= until:
        why.append(f"在有效期内（{item.validity_days} 天，至 {until.isoformat()}）")
    else:
        why_not.append(f"已超过有效期（{item.validity_days} 天，至 {until.isoformat()}）")
    needs_qa = policy.lab_requires_qa if item.kind is ItemKind.LAB else policy.imaging_requires_qa
    discipline_qa = [r for r in qa if r.discipline == item.discipline]
    qa_ok = any(r.valid_on(candidate.result_date) for r in discipline_qa)
    if needs_qa:
        if qa_ok:
            why.append(f"来源实验室{item.discipline}室间质评合格")
        elif discipline_qa:
            why_not.append(f"来源实验室{item.discipline}室间质评在结果日期不在有效期或未通过")
        else:
            why_not.append(f"来源实验室无{item.discipline}室间质评记录")
    if policy.require_hr_mark and not candidate.source.hr_mark:
        why_not.append("来源机构无 HR 互认标识")
    elif item.hr and candidate.source.hr_mark:
        why.append("HR 标识项目，能认尽认")
    ok, reason = institution_accepts(receiver, candidate.source, policy, qa_ok=qa_ok)
    (why if ok else why_not).append(reason)
    return Assessment(candidate.result_id, not why_not, tuple(why), tuple(why_not), until)


def earliest_result_date(on: date, validity_days: int) -> date:
    """Return the oldest result date still valid on ``on`` (for an indexed range query)."""
    return on - timedelta(days=validity_days - 1)
