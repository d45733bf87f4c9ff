"""Typed errors of the smart insurance audit."""

from __future__ import annotations

from yilian.kit.errors import Conflict, InvalidInput, NotFound


class RuleLibraryInvalid(InvalidInput):
    code = "audit_rule_library_invalid"
    title = "规则库校验未通过"


class RuleLibraryNotFound(NotFound):
    code = "audit_rule_library_not_found"
    title = "规则库版本不存在"


class ClaimFileInvalid(InvalidInput):
    code = "audit_claim_file_invalid"
    title = "结算明细文件格式不正确"


class DuplicateClaimLines(Conflict):
    code = "audit_claim_lines_duplicate"
    title = "明细流水号重复"


class RunNotFound(NotFound):
    code = "audit_run_not_found"
    title = "审核批次不存在"


class FindingNotFound(NotFound):
    code = "audit_finding_not_found"
    title = "审核疑点不存在"


class ReviewNotAllowed(Conflict):
    code = "audit_review_not_allowed"
    title = "当前状态不允许此审核操作"


class ReasonRequired(InvalidInput):
    code = "audit_reason_required"
    title = "请填写理由"
