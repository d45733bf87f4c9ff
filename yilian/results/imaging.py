"""Imaging studies: metadata and report text, read from a DICOM header with pydicom (study UID,
modality, body part, study date and time) or given as ImagingStudy metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.errors import InvalidDicomError

from yilian.kit.clock import BUSINESS_TZ
from yilian.results.domain import IncomingResult, ResultStatus
from yilian.results.errors import BadMessage

# DICOM Body Part Examined (0018,0015) values mapped to the catalogue's body parts.
BODY_PARTS = {
    "CHEST": "CHEST",
    "THORAX": "CHEST",
    "HEAD": "HEAD",
    "BRAIN": "HEAD",
    "LSPINE": "LSPINE",
    "ABDOMEN": "ABDOMEN",
    "NECK": "NECK",
    "THYROID": "NECK",
    "HEART": "HEART",
}
# DICOM Modality (0008,0060); ECG: a 12-lead electrocardiogram (waveform object), body part HEART.
MODALITIES = {"CR": "DX", "DX": "DX", "DR": "DX", "CT": "CT", "MR": "MR", "US": "US", "ECG": "ECG"}


@dataclass(frozen=True)
class ImagingInput:
    study_uid: str
    id_number: str
    sender_code: str
    modality: str
    body_part: str
    started: datetime
    report_text: str
    status: ResultStatus = ResultStatus.FINAL
    local_code: str = ""


def read_dicom(source: str | Path | BinaryIO, *, report_text: str, sender_code: str = "") -> ImagingInput:
    """Read a DICOM file's header (no pixel data) into study metadata; the patient is matched by
    PatientID (0010,0020) holding the resident ID number; the sender by InstitutionCode, else the caller's."""
    try:
        ds = pydicom.dcmread(source, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise BadMessage(f"不是有效的 DICOM 文件: {exc}") from exc
    uid = str(ds.get("StudyInstanceUID", "") or "")
    if not uid:
        raise BadMessage("DICOM 缺少 StudyInstanceUID")
    modality = str(ds.get("Modality", "") or "").upper()
    if modality not in MODALITIES:
        raise BadMessage(f"不支持的检查类型 Modality: {modality or '空'}")
    part = str(ds.get("BodyPartExamined", "") or "").upper()
    study_date = str(ds.get("StudyDate", "") or "")
    study_time = str(ds.get("StudyTime", "") or "000000").split(".")[0].ljust(6, "0")
    try:
        started = datetime.strptime(study_date + study_time[:6], "%Y%m%d%H%M%S").replace(tzinfo=BUSINESS_TZ)
    except ValueError as exc:
        raise BadMessage(f"DICOM StudyDate/StudyTime 不合法: {study_date} {study_time}") from exc
    sender = sender_code or str(ds.get("InstitutionName", "") or "").strip()
    if not sender:
        raise BadMessage("未指定发送机构编码")
    return ImagingInput(
        study_uid=uid,
        id_number=str(ds.get("PatientID", "") or "").strip().upper(),
        sender_code=sender,
        modality=MODALITIES[modality],
        body_part="HEART" if modality == "ECG" else BODY_PARTS.get(part, part),
        started=started,
        report_text=report_text,
    )


def to_incoming(study: ImagingInput) -> IncomingResult:
    """Return the incoming result of a study (its report text is the result)."""
    if not study.study_uid or not study.id_number:
        raise BadMessage("影像检查缺少 StudyInstanceUID 或患者身份证号")
    if not study.report_text.strip():
        raise BadMessage("影像检查缺少报告文本")
    if study.started.tzinfo is None:
        raise BadMessage("检查时间缺少时区")
    return IncomingResult(
        source_key=f"dicom:{study.sender_code}:{study.study_uid}",
        id_number=study.id_number,
        sender_code=study.sender_code,
        local_code=study.local_code,
        local_name="",
        value_text="",
        unit="",
        reference_range="",
        abnormal_flag="",
        status=study.status,
        observed_at=study.started,
        report_text=study.report_text,
        study_uid=study.study_uid,
        modality=study.modality,
        body_part=study.body_part,
    )
