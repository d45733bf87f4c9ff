"""Typed errors of the catalogue."""

from __future__ import annotations

from yilian.kit.errors import InvalidInput, NotFound


class InvalidItemCode(InvalidInput):
    code = "invalid_item_code"
    title = "项目编码格式错误"


class InvalidDiagnosisCode(InvalidInput):
    code = "invalid_diagnosis_code"
    title = "诊断编码格式错误"


class InvalidProcedureCode(InvalidInput):
    code = "invalid_procedure_code"
    title = "手术操作编码格式错误"


class UnknownCodes(InvalidInput):
    """Codes typed by a person that are not in the 医保版 code tables."""

    code = "unknown_codes"
    title = "编码不在医保版编码表中"


class InvalidCatalogRow(InvalidInput):
    code = "invalid_catalog_row"
    title = "目录数据不合法"


class ItemNotFound(NotFound):
    code = "catalog_item_not_found"
    title = "收费项目不存在"


class DiagnosisNotFound(NotFound):
    code = "diagnosis_not_found"
    title = "诊断编码不存在"


class ProcedureNotFound(NotFound):
    code = "procedure_not_found"
    title = "手术操作编码不存在"


class InvalidDose(InvalidInput):
    code = "invalid_dose"
    title = "用法用量不合法"


class DrugKnowledgeMissing(NotFound):
    code = "drug_knowledge_missing"
    title = "药品知识库中没有该药品"


class UnknownHerb(InvalidInput):
    code = "unknown_herb"
    title = "饮片目录中没有该药"
