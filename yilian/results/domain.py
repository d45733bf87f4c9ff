"""Pure rules of the results registry: items, result statuses, doctors' decisions, ingest matching.

Terms: mutual recognition (互认), the national recognition mark "HR", external quality assessment
(室间质评, "QA" here), repeat-order prompt (重复开单提醒), one-click look-up (一键查询).

Which results are recognised where, and for how long, is in ``yilian.results.recognition_rules``. The
exam items' validity is seeded from docs/domain.md §5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from yilian.results.errors import InvalidDecision


class ItemKind(StrEnum):
    LAB = "lab"
    IMAGING = "imaging"

    @property
    def label(self) -> str:
        return "检验" if self is ItemKind.LAB else "检查"


class ResultStatus(StrEnum):
    """HL7 v2 OBX-11 / FHIR Observation.status, reduced to what recognition needs."""

    FINAL = "final"
    CORRECTED = "corrected"
    PRELIMINARY = "preliminary"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"final": "最终", "corrected": "已更正", "preliminary": "初步", "cancelled": "已取消"}[
            self.value
        ]

    @property
    def is_final(self) -> bool:
        return self in (ResultStatus.FINAL, ResultStatus.CORRECTED)


HL7_STATUS = {
    "F": ResultStatus.FINAL,
    "C": ResultStatus.CORRECTED,
    "P": ResultStatus.PRELIMINARY,
    "R": ResultStatus.PRELIMINARY,
    "I": ResultStatus.PRELIMINARY,
    "S": ResultStatus.PRELIMINARY,
    "X": ResultStatus.CANCELLED,
    "D": ResultStatus.CANCELLED,
    "W": ResultStatus.CANCELLED,
}
FHIR_STATUS = {
    "final": ResultStatus.FINAL,
    "amended": ResultStatus.CORRECTED,
    "corrected": ResultStatus.CORRECTED,
    "preliminary": ResultStatus.PRELIMINARY,
    "registered": ResultStatus.PRELIMINARY,
    "cancelled": ResultStatus.CANCELLED,
    "entered-in-error": ResultStatus.CANCELLED,
}


class Decision(StrEnum):
    RECOGNISED = "互认"
    NOT_RECOGNISED = "不互认"


class NonRecognitionReason(StrEnum):
    """The standard list of objective reasons for 不互认 (docs/domain.md §5)."""

    CONDITION_CHANGED = "condition_changed"
    FAST_CHANGING = "fast_changing"
    MAJOR_PROCEDURE = "major_procedure"
    EMERGENCY = "emergency"
    LEGAL_ASSESSMENT = "legal_assessment"
    PATIENT_REQUEST = "patient_request"
    SOURCE_QA_FAILED = "source_qa_failed"
    TOO_OLD = "too_old"
    REPEAT_NECESSARY = "repeat_necessary"
    OTHER = "other"

    @property
    def label(self) -> str:
        return REASON_LABELS[self]


REASON_LABELS = {
    NonRecognitionReason.CONDITION_CHANGED: "病情变化或结果与临床表现不符",
    NonRecognitionReason.FAST_CHANGING: "检验结果变化快",
    NonRecognitionReason.MAJOR_PROCEDURE: "手术、输血等重大医疗措施前",
    NonRecognitionReason.EMERGENCY: "急诊、急救",
    NonRecognitionReason.LEGAL_ASSESSMENT: "司法、伤残鉴定等",
    NonRecognitionReason.PATIENT_REQUEST: "患者要求",
    NonRecognitionReason.SOURCE_QA_FAILED: "来源实验室室间质评不合格",
    NonRecognitionReason.TOO_OLD: "结果时间过久",
    NonRecognitionReason.REPEAT_NECESSARY: "医生判断确需复查",
    NonRecognitionReason.OTHER: "其他",
}
NOTE_MAX = 200


@dataclass(frozen=True)
class ExamItem:
    """A recognisable lab item or imaging exam type with its validity and price (fen)."""

    code: str
    name: str
    kind: ItemKind
    validity_days: int
    price_fen: int
    unit: str = ""
    specimen: str = ""
    discipline: str = ""  # lab discipline for 室间质评 (临床化学, 临床免疫, 临床血液, ...)
    modality: str = ""  # CT / MR / DX / US for imaging, ECG for an electrocardiogram
    body_part: str = ""
    hr: bool = True
    loinc: str = ""


def _lab(
    code: str,
    name: str,
    unit: str,
    days: int,
    price: int,
    loinc: str,
    disc: str = "临床化学",
    specimen: str = "血清",
) -> ExamItem:
    return ExamItem(
        code, name, ItemKind.LAB, days, price, unit=unit, specimen=specimen, discipline=disc, loinc=loinc
    )


def _img(code: str, name: str, modality: str, part: str, days: int, price: int) -> ExamItem:
    return ExamItem(
        code, name, ItemKind.IMAGING, days, price, modality=modality, body_part=part, discipline="医学影像"
    )


def _ecg(code: str, name: str, days: int, price: int, loinc: str) -> ExamItem:
    """An electrocardiogram (心电图): a study with a report like imaging (DICOM modality ECG)."""
    return ExamItem(
        code,
        name,
        ItemKind.IMAGING,
        days,
        price,
        modality="ECG",
        body_part="HEART",
        discipline="心电诊断",
        loinc=loinc,
    )


# Seed catalogue: validity from a public hospital list (docs/domain.md §5); prices are demo values in fen.
SEED_EXAM_ITEMS: tuple[ExamItem, ...] = (
    _lab("K", "钾", "mmol/L", 7, 400, "2823-3"),
    _lab("NA", "钠", "mmol/L", 7, 400, "2951-2"),
    _lab("CL", "氯", "mmol/L", 7, 400, "2075-0"),
    _lab("CA", "钙", "mmol/L", 7, 500, "17861-6"),
    _lab("MG", "镁", "mmol/L", 7, 500, "19123-9"),
    _lab("FE", "铁", "μmol/L", 7, 600, "2498-4"),
    _lab("TIBC", "总铁结合力", "μmol/L", 7, 800, "2500-7"),
    _lab("PHOS", "无机磷", "mmol/L", 7, 500, "2777-1"),
    _lab("LI", "锂", "mmol/L", 7, 1500, "14334-7"),
    _lab("TP", "总蛋白", "g/L", 30, 300, "2885-2"),
    _lab("ALB", "白蛋白", "g/L", 30, 300, "1751-7"),
    _lab("FERR", "铁蛋白", "ng/mL", 30, 2500, "2276-4", disc="临床免疫"),
    _lab("GLU", "葡萄糖测定（血糖）", "mmol/L", 30, 600, "2345-7"),
    _lab("TC", "总胆固醇", "mmol/L", 30, 500, "2093-3"),
    _lab("TG", "甘油三酯", "mmol/L", 30, 600, "2571-8"),
    _lab("TBIL", "总胆红素", "μmol/L", 30, 500, "1975-2"),
    _lab("HBA1C", "糖化血红蛋白", "%", 60, 4500, "4548-4", disc="临床血液", specimen="全血"),
    _img("CT-CHEST", "胸部 CT 平扫", "CT", "CHEST", 30, 20000),
    _img("CT-HEAD", "头颅 CT 平扫", "CT", "HEAD", 30, 18000),
    _img("MR-HEAD", "头颅 MRI 平扫", "MR", "HEAD", 30, 45000),
    _img("MR-LSPINE", "腰椎 MRI 平扫", "MR", "LSPINE", 30, 45000),
    _img("DX-CHEST", "胸部 X 线摄影（DR）", "DX", "CHEST", 30, 6000),
    _img("US-ABD", "腹部彩超", "US", "ABDOMEN", 14, 15000),
    _img("US-THYROID", "甲状腺彩超", "US", "NECK", 14, 12000),
    _ecg("ECG-12", "常规十二导联心电图", 7, 2500, "11524-6"),  # migration results_0460
)


def check_decision(
    decision: Decision, reasons: Sequence[NonRecognitionReason], note: str, *, result_chosen: bool
) -> None:
    """Check a doctor's decision: 互认 names a result; 不互认 needs ≥1 standard reason; note ≤ 200 chars."""
    if len(note) > NOTE_MAX:
        raise InvalidDecision(f"补充说明不能超过 {NOTE_MAX} 字（当前 {len(note)} 字）")
    if decision is Decision.RECOGNISED:
        if not result_chosen:
            raise InvalidDecision("互认时须选择被认可的结果")
        if reasons:
            raise InvalidDecision("互认时不填写不互认理由")
    else:
        if not reasons:
            raise InvalidDecision("不互认须至少选择一项客观理由")
        if NonRecognitionReason.OTHER in reasons and len(reasons) == 1 and not note.strip():
            raise InvalidDecision("选择“其他”理由时须填写补充说明")


def parse_number(text: str) -> float | None:
    """Return the numeric value of a result text like '5.6', '<0.1' or '>1000', else None."""
    t = text.strip().lstrip("<>=≤≥ ")
    try:
        return float(t)
    except ValueError:
        return None


def rate(part: int, whole: int) -> float:
    """Return part/whole as a fraction rounded to 4 places (0 when whole is 0)."""
    return round(part / whole, 4) if whole else 0.0


@dataclass(frozen=True)
class IncomingResult:
    """One result as a sender delivered it (HL7 v2 OBX, FHIR Observation, imaging study), before it is
    matched to the patient index, the sending institution and the regional catalogue."""

    source_key: str  # stable per sender and observation: the idempotency key
    id_number: str  # resident ID number (PID-3 / Patient.identifier)
    sender_code: str  # institution code (MSH-4 / Organization identifier)
    local_code: str  # the sender's item code (OBX-3 / Observation.code)
    local_name: str
    value_text: str
    unit: str
    reference_range: str
    abnormal_flag: str
    status: ResultStatus
    observed_at: datetime
    report_text: str = ""
    study_uid: str = ""
    modality: str = ""
    body_part: str = ""
    comment: str = ""  # comments that followed the observation (HL7 NTE / NOTE OBX)
    patient_name: str = ""  # as the sender wrote it (PID-5), checked against the patient index
    birth_date: date | None = None  # PID-7, checked against the patient index
    reported_at: datetime | None = None  # when the sender reported this version (MSH-7)


# Which delivery of the same observation stands: a higher rank replaces a lower one whatever the arrival
# order (a late preliminary never overwrites a final or a correction); at the same rank the later report
# (MSH-7) wins. Every delivery is kept in the history either way.
STATUS_RANK = {
    ResultStatus.PRELIMINARY: 1,
    ResultStatus.FINAL: 2,
    ResultStatus.CORRECTED: 3,
    ResultStatus.CANCELLED: 3,
}


def supersedes(
    new_status: ResultStatus,
    new_reported: datetime | None,
    old_status: ResultStatus,
    old_reported: datetime | None,
) -> bool:
    """Tell whether a delivery of an observation replaces the stored version of it."""
    new_rank, old_rank = STATUS_RANK[new_status], STATUS_RANK[old_status]
    if new_rank != old_rank:
        return new_rank > old_rank
    if new_reported is None or old_reported is None:
        return True  # no report times to compare: the later arrival stands
    return new_reported >= old_reported


def same_person(index_name: str, index_birth: date, sent_name: str, sent_birth: date | None) -> list[str]:
    """Return why a sender's patient name / birth date contradict the patient index (empty if they don't).

    A birth date that differs contradicts; a name written in Chinese characters that differs (spaces and
    the HL7 family^given separator ignored) contradicts; a name in Latin letters (pinyin) is not compared."""
    why: list[str] = []
    if sent_birth is not None and sent_birth != index_birth:
        why.append(f"出生日期 {sent_birth.isoformat()} 与主索引不符")
    name = "".join(sent_name.split())
    if name and any("\u4e00" <= ch <= "\u9fff" for ch in name) and name != "".join(index_name.split()):
        why.append(f"姓名“{name}”与主索引不符")
    return why
