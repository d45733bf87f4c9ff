"""Typed errors of the alliance area (rendered as problem+json with a Chinese title)."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidReferral(InvalidInput):
    code = "alliance_invalid_referral"
    title = "转诊单不合法"


class OutsideAlliance(InvalidInput):
    code = "alliance_outside"
    title = "目标机构不在同一医联体内"


class NoClinic(InvalidInput):
    code = "alliance_no_clinic"
    title = "目标科室近期没有门诊"


class CarePlanMissing(InvalidInput):
    code = "alliance_care_plan_missing"
    title = "下转须附康复/随访方案"


class ReferralNotFound(NotFound):
    code = "alliance_referral_not_found"
    title = "转诊单不存在"


class ReferralStateError(Conflict):
    code = "alliance_referral_state"
    title = "转诊单状态不允许此操作"


class NotYourReferral(Forbidden):
    code = "alliance_not_your_referral"
    title = "无权处理此转诊单"


class NetworkNotFound(NotFound):
    code = "alliance_not_found"
    title = "医联体不存在"


class InvalidNetwork(InvalidInput):
    code = "alliance_invalid"
    title = "医联体信息不合法"


class InvalidPosting(InvalidInput):
    code = "alliance_invalid_posting"
    title = "专家派驻信息不合法"


class PostingNotFound(NotFound):
    code = "alliance_posting_not_found"
    title = "专家派驻不存在"


class ReadingNotFound(NotFound):
    code = "alliance_reading_not_found"
    title = "阅片任务不存在"


class ReadingTaken(Conflict):
    code = "alliance_reading_taken"
    title = "该检查已被其他医生认领"


class InvalidReading(InvalidInput):
    code = "alliance_invalid_reading"
    title = "阅片报告不合法"


class PairingNotFound(NotFound):
    code = "alliance_pairing_not_found"
    title = "结对帮扶不存在"
