"""Typed errors of the DRG area."""

from __future__ import annotations

from yilian.kit.errors import Conflict, InvalidInput, NotFound


class SchemeNotFound(NotFound):
    code = "drg_scheme_not_found"
    title = "DRG 分组方案不存在"


class SchemeExists(Conflict):
    code = "drg_scheme_exists"
    title = "DRG 分组方案已存在"


class InvalidScheme(InvalidInput):
    code = "drg_invalid_scheme"
    title = "DRG 分组方案文件无法解析"


class InvalidRecord(InvalidInput):
    code = "drg_invalid_record"
    title = "病案首页数据不合法"


class InvalidPolicyFile(InvalidInput):
    code = "drg_invalid_policy_file"
    title = "权重/费率文件不合法"


class BatchNotFound(NotFound):
    code = "drg_batch_not_found"
    title = "出院病案批次不存在"
