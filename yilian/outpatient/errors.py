"""Typed errors of outpatient care."""

from __future__ import annotations

from yilian.kit.errors import Conflict, InvalidInput, NotFound


class EncounterNotFound(NotFound):
    code = "encounter_not_found"
    title = "就诊记录不存在"


class EncounterClosed(Conflict):
    code = "encounter_closed"
    title = "就诊已结束"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "医嘱不存在"


class InvalidOrder(InvalidInput):
    code = "invalid_order"
    title = "医嘱不合法"


class IllegalTransition(Conflict):
    code = "illegal_order_transition"
    title = "医嘱状态不允许此操作"


class RecordSigned(Conflict):
    code = "record_signed"
    title = "病历已签名"


class InvalidRecord(InvalidInput):
    code = "invalid_record"
    title = "病历内容不合法"


class PrescriptionNotFound(NotFound):
    code = "prescription_not_found"
    title = "处方不存在"


class InvalidPrescription(InvalidInput):
    code = "invalid_prescription"
    title = "处方不合法"


class PrescriptionLocked(Conflict):
    code = "prescription_locked"
    title = "处方当前状态不允许此操作"


class NoOpenVisit(Conflict):
    code = "no_open_visit"
    title = "患者没有进行中的就诊"


class DiagnosisNotFound(NotFound):
    code = "diagnosis_not_found"
    title = "诊断不存在"


class AllergyNotFound(NotFound):
    code = "allergy_not_found"
    title = "过敏记录不存在"


class PrescriptionLineNotFound(NotFound):
    code = "prescription_line_not_found"
    title = "处方行不存在"
