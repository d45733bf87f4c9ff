"""Typed errors of the results area (Chinese title for people, stable English code for programs)."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class InvalidDecision(InvalidInput):
    code = "results_invalid_decision"
    title = "互认决定不合法"


class UnknownItem(NotFound):
    code = "results_unknown_item"
    title = "互认项目不存在"


class UnknownLocalCode(InvalidInput):
    code = "results_unknown_local_code"
    title = "本地项目代码未对照到区域代码"


class UnknownPatient(InvalidInput):
    code = "results_unknown_patient"
    title = "患者主索引中找不到该患者"


class UnknownInstitution(InvalidInput):
    code = "results_unknown_institution"
    title = "发送机构不存在"


class BadMessage(InvalidInput):
    code = "results_bad_message"
    title = "结果报文格式错误"


class ResultNotFound(NotFound):
    code = "results_not_found"
    title = "结果不存在"


class ResultAccessDenied(Forbidden):
    code = "results_access_denied"
    title = "无权查看该患者的结果"


class PromptNotFound(NotFound):
    code = "results_prompt_not_found"
    title = "互认提示不存在"


class AlreadyDecided(Conflict):
    code = "results_already_decided"
    title = "该提示已作出互认决定"


class InvalidImport(InvalidInput):
    code = "results_invalid_import"
    title = "导入文件有错误"


class InvalidPolicy(InvalidInput):
    code = "results_invalid_policy"
    title = "互认政策数据不合法"


class InvalidValue(InvalidInput):
    code = "results_invalid_value"
    title = "结果值与数据类型不符"


class IdentityMismatch(InvalidInput):
    code = "results_identity_mismatch"
    title = "报文中的患者身份与主索引不符"
