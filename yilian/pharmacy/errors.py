"""Typed errors of the pharmacy."""

from __future__ import annotations

from yilian.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class NotReviewed(Conflict):
    code = "prescription_not_reviewed"
    title = "处方未通过审方，不能发药"


class NotPaid(Conflict):
    code = "prescription_not_paid"
    title = "处方尚未缴费"


class OutOfStock(Conflict):
    code = "out_of_stock"
    title = "药房库存不足"


class AlreadyDispensed(Conflict):
    code = "already_dispensed"
    title = "处方已发药"


class NotYourQueue(Forbidden):
    code = "not_your_review_queue"
    title = "该处方不由本机构审核或调配"


class InvalidCheck(InvalidInput):
    code = "invalid_second_check"
    title = "核对人不合法"


class PharmacyNotFound(NotFound):
    code = "pharmacy_not_found"
    title = "药房不存在"


class InvalidStock(InvalidInput):
    code = "invalid_stock"
    title = "入库数据不合法"


class InvalidReturn(InvalidInput):
    code = "invalid_drug_return"
    title = "退药不合法"


class PrescriptionExpired(Conflict):
    code = "prescription_expired"
    title = "处方已过期（当日有效），请重新开具"
