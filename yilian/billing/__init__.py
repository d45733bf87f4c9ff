"""Billing: charges, credit care (先诊疗后付费), settlement, payers and payment channels
(WeChat Pay, Alipay, UnionPay, cash, card-free insurance credential 脱卡付), refunds, arrears and
reconciliation."""
