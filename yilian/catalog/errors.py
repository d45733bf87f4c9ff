"""Typed errors of the catalogue."""

from __future__ import annotations

from yilian.kit.errors import InvalidInput, NotFound


class InvalidItemCode(InvalidInput):
    code = "invalid_item_code"
    title = "项目编码格式错误"


class InvalidDiagnosisCode(InvalidInput):
    code = "invalid_diagnosis_code"
    title = "诊断编码格式错误"


class InvalidCatalogRow(InvalidInput):
    code = "invalid_catalog_row"
    title = "目录数据不合法"


class ItemNotFound(NotFound):
    code = "catalog_item_not_found"
    title = "收费项目不存在"


class DiagnosisNotFound(NotFound):
    code = "diagnosis_not_found"
    title = "诊断编码不存在"
