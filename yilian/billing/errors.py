"""Typed errors of billing."""

from __future__ import annotations

from yilian.kit.errors import Conflict, InvalidInput, NotFound, Unauthorized


class InvalidPayment(InvalidInput):
    code = "invalid_payment"
    title = "支付请求不合法"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "幂等键已用于另一笔不同的请求"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "支付记录不存在"


class RefundTooLarge(InvalidInput):
    code = "refund_too_large"
    title = "退款金额超过可退金额"


class BadSignature(Unauthorized):
    code = "bad_signature"
    title = "支付回调签名校验失败"


class ChannelDeclined(Conflict):
    code = "channel_declined"
    title = "支付渠道拒绝了这笔交易"


class CreditRefused(Conflict):
    code = "credit_refused"
    title = "不能使用先诊疗后付费"


class SettlementRefused(InvalidInput):
    code = "settlement_refused"
    title = "无法结算"


class NothingToSettle(Conflict):
    code = "nothing_to_settle"
    title = "没有待结算的费用"


class InvalidCreditPolicy(InvalidInput):
    code = "invalid_credit_policy"
    title = "先诊疗后付费政策设置不合法"
