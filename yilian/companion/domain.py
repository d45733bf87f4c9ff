"""Pure rules of 云伴诊: scopes, who may grant, how a relative calls the patient, and the feed's wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

ADULT_AGE = 18
DISCHARGE_GRACE_DAYS = 7  # an admission's consent ends 7 days after discharge (docs/domain.md §10 default)


class Scope(StrEnum):
    PROGRESS = "progress"  # 进度: booked, checked in, queue place, called, sent to a test, ADT
    RESULTS = "results"  # 结果: results when released (opt-in)
    BILLS = "bills"  # 费用: bills and payments (opt-in)

    @property
    def label(self) -> str:
        return SCOPE_LABELS[self]


SCOPE_LABELS = {Scope.PROGRESS: "进度", Scope.RESULTS: "结果", Scope.BILLS: "费用"}


class Basis(StrEnum):
    SELF = "self"  # the patient herself
    GUARDIAN = "guardian"  # the guardian (parent) of a minor
    AUTHORISED = "authorised"  # an authorised relative for a patient without capacity, with evidence

    @property
    def label(self) -> str:
        return {
            "self": "本人授权",
            "guardian": "监护人代为授权",
            "authorised": "授权代理人（患者无行为能力）",
        }[self.value]


BASIS_LABELS = {"self": "本人授权", "guardian": "监护人代为授权", "authorised": "代理授权（患者无行为能力）"}


class VisitKind(StrEnum):
    BOOKING = "booking"  # an outpatient registration (挂号)
    ADMISSION = "admission"  # an inpatient stay (住院)

    @property
    def label(self) -> str:
        return {"booking": "门诊就诊", "admission": "住院"}[self.value]


class EndReason(StrEnum):
    REVOKED = "revoked"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return {"revoked": "患者已撤销授权，停止更新", "expired": "授权已到期，停止更新"}[self.value]


def is_minor(birth_date: date, on: date) -> bool:
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return years < ADULT_AGE


def salutation(relative_role: str, patient_sex: str, patient_name: str) -> str:
    """How the relative calls the patient: ``relative_role`` is what the relative is to the patient
    (registry RelationType value); a father following his daughter reads 「女儿」."""
    female = patient_sex == "2"  # GB/T 2261.1
    words = {
        "parent": ("女儿", "儿子"),
        "child": ("妈妈", "爸爸"),
        "spouse": ("妻子", "丈夫"),
        "sibling": ("姐妹", "兄弟"),
        "grandparent": ("孙女", "孙子"),
        "grandchild": ("奶奶", "爷爷"),
    }
    if relative_role in words:
        return words[relative_role][0 if female else 1]
    return patient_name


@dataclass(frozen=True)
class Line:
    """One feed line before it is stored: its scope and its Chinese sentence."""

    scope: Scope
    text: str


def _yuan(fen: Any) -> str:
    try:
        return f"¥{int(fen) / 100:.2f}"
    except (TypeError, ValueError):
        return ""


def render(topic: str, payload: dict[str, Any], who: str, *, ahead: int | None = None) -> Line | None:
    """The sentence a relative reads for an outbox event about the patient (``who`` is how the relative
    calls her); None for events a relative is not told about. Other patients never appear."""
    kind = payload.get("kind")
    if topic == "scheduling.booking_confirmed":
        return Line(Scope.PROGRESS, f"{who}已预约挂号")
    if topic == "scheduling.booking_cancelled":
        return Line(Scope.PROGRESS, f"{who}的挂号已取消")
    if topic == "scheduling.clinic_stopped":
        return Line(Scope.PROGRESS, f"{who}预约的门诊停诊了，挂号费将退回")
    if topic == "scheduling.queue_changed":
        place = payload.get("location") or "诊室"
        if kind == "checked_in":
            tail = f"，前面还有 {ahead} 人" if ahead is not None else ""
            return Line(Scope.PROGRESS, f"{who}已签到{tail}")
        if kind == "called":
            return Line(Scope.PROGRESS, f"{who}被叫号了，请到{place}就诊")
        if kind == "recalled":
            return Line(Scope.PROGRESS, f"{who}再次被叫号，请到{place}就诊")
        if kind == "skipped":
            return Line(Scope.PROGRESS, f"{who}过号了，稍后重新排队")
        if kind == "ahead" and ahead is not None:
            return Line(Scope.PROGRESS, f"{who}前面还有 {ahead} 人")
        return None
    if topic == "outpatient.encounter_opened":
        return Line(Scope.PROGRESS, f"{who}正在看医生")
    if topic == "outpatient.order_placed":
        return Line(Scope.PROGRESS, f"医生为{who}开了检查检验或处方")
    if topic == "results.received":
        n = len(payload.get("result_ids") or [])
        return Line(Scope.RESULTS, f"{who}的 {n} 项检查检验结果已出，可在报告中查看")
    if topic == "billing.settled":
        return Line(Scope.BILLS, f"{who}的门诊费用已结算")
    if topic == "billing.arrears_opened":
        return Line(Scope.BILLS, f"{who}有待补缴的费用 {_yuan(payload.get('amount'))}")
    if topic == "billing.arrears_paid":
        return Line(Scope.BILLS, f"{who}的欠费已补缴")
    if topic == "inpatient.admitted":
        return Line(Scope.PROGRESS, f"{who}已办理入院")
    if topic == "inpatient.transferred":
        return Line(Scope.PROGRESS, f"{who}已转床/转科")
    if topic == "inpatient.discharged":
        return Line(Scope.PROGRESS, f"{who}已出院")
    if topic == "inpatient.deposit_paid":
        return Line(Scope.BILLS, f"{who}的住院押金已缴 {_yuan(payload.get('amount'))}")
    return None


def patient_ids_of(payload: dict[str, Any]) -> list[int]:
    """The patients an event is about, as far as its payload says."""
    ids = payload.get("patient_ids")
    if isinstance(ids, list):
        return [int(i) for i in ids]
    pid = payload.get("patient_id")
    return [int(pid)] if pid is not None else []
