"""Typed errors of the registry."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidIdNumber(InvalidInput):
    code = "invalid_id_number"
    title = "居民身份证号码无效"


class IdBirthDateMismatch(InvalidInput):
    code = "id_birth_date_mismatch"
    title = "出生日期与身份证号码不一致"


class IdSexMismatch(InvalidInput):
    code = "id_sex_mismatch"
    title = "性别与身份证号码不一致"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    title = "手机号码格式错误"


class InvalidName(InvalidInput):
    code = "invalid_name"
    title = "姓名格式错误"


class InvalidRegion(InvalidInput):
    code = "invalid_region"
    title = "参保地区划代码错误"


class DuplicatePatient(Conflict):
    code = "duplicate_patient"
    title = "该身份证号码已建档"


class UnknownInstitution(InvalidInput):
    code = "unknown_institution"
    title = "机构不存在"


class UnknownDepartment(InvalidInput):
    code = "unknown_department"
    title = "科室不存在"


class DuplicateCode(Conflict):
    code = "duplicate_code"
    title = "编码已存在"


class PatientNotFound(NotFound):
    code = "patient_not_found"
    title = "患者不存在"


class InstitutionNotFound(NotFound):
    code = "institution_not_found"
    title = "机构不存在"


class AllianceNotFound(NotFound):
    code = "alliance_not_found"
    title = "医联体不存在"


class PractitionerNotFound(NotFound):
    code = "practitioner_not_found"
    title = "医务人员不存在"


class PatientOutOfScope(Forbidden):
    code = "patient_out_of_scope"
    title = "无权查看该患者"


class InvalidRelation(InvalidInput):
    code = "invalid_relation"
    title = "家庭关系不合法"


class DuplicateRelation(Conflict):
    code = "duplicate_relation"
    title = "家庭关系已存在"


class InvalidConsent(InvalidInput):
    code = "invalid_consent"
    title = "授权不合法"
