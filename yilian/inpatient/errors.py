"""Typed errors of the inpatient area (Chinese titles, stable English codes)."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class WardNotFound(NotFound):
    code = "ward_not_found"
    title = "病区不存在"


class BedNotFound(NotFound):
    code = "bed_not_found"
    title = "床位不存在"


class AdmissionNotFound(NotFound):
    code = "admission_not_found"
    title = "住院记录不存在"


class RequestNotFound(NotFound):
    code = "bed_request_not_found"
    title = "住院申请不存在"


class PreAdmissionNotFound(NotFound):
    code = "preadmission_not_found"
    title = "预住院登记不存在"


class BedTaken(Conflict):
    code = "bed_taken"
    title = "床位已被占用或已分配"


class BedNotSuitable(Conflict):
    code = "bed_not_suitable"
    title = "该床位不适合此患者"


class RequestAlreadyHandled(Conflict):
    code = "bed_request_handled"
    title = "该住院申请已处理"


class AlreadyInHospital(Conflict):
    code = "already_in_hospital"
    title = "患者已在院，不能重复入院"


class NotInHospital(Conflict):
    code = "not_in_hospital"
    title = "患者未入院或已出院"


class AdmissionStateError(Conflict):
    code = "admission_state"
    title = "住院状态不允许该操作"


class DepositRequired(Conflict):
    code = "deposit_required"
    title = "需缴纳预交金"


class OrderRefusedByAudit(Conflict):
    code = "order_refused_by_audit"
    title = "医保事前审核不通过，医嘱未开立"


class InvalidInpatientInput(InvalidInput):
    code = "invalid_inpatient_input"
    title = "住院数据不合法"


class AbstractInvalid(InvalidInput):
    code = "abstract_invalid"
    title = "病案首页未通过质控"


class UnknownCode(InvalidInput):
    code = "unknown_code"
    title = "编码不在医保版编码库中"


class InpatientForbidden(Forbidden):
    code = "inpatient_forbidden"
    title = "没有住院业务权限"
