"""Billing's one service entry point: other modules import ``from yilian.billing import service as billing``.

The use cases live in modules split by use case: ``payments`` (idempotent payments, refunds, gateway
callbacks, reconciliation), ``settlement`` (credit care and the one settlement per encounter-day, the
cashier counter, the credit office), ``batch`` (the set-based 23:00 settlement) and
``registration_fees`` (registration fees taken for scheduling; importing this package registers them).
"""

from __future__ import annotations

from yilian.billing.service.batch import (
    DEFAULT_CHUNK as DEFAULT_CHUNK,
)
from yilian.billing.service.batch import (
    SettleDayReport as SettleDayReport,
)
from yilian.billing.service.batch import (
    auto_idempotency_key as auto_idempotency_key,
)
from yilian.billing.service.batch import (
    pending_encounters as pending_encounters,
)
from yilian.billing.service.batch import (
    settle_chunk as settle_chunk,
)
from yilian.billing.service.batch import (
    settle_day_batch as settle_day_batch,
)
from yilian.billing.service.batch import (
    settle_one as settle_one,
)
from yilian.billing.service.batch import (
    settle_worker as settle_worker,
)
from yilian.billing.service.payments import (
    find_payment as find_payment,
)
from yilian.billing.service.payments import (
    handle_callback as handle_callback,
)
from yilian.billing.service.payments import (
    pay as pay,
)
from yilian.billing.service.payments import (
    reconcile_day as reconcile_day,
)
from yilian.billing.service.payments import (
    refund as refund,
)
from yilian.billing.service.payments import (
    require_succeeded as require_succeeded,
)
from yilian.billing.service.registration_fees import (
    CHANNEL_METHODS as CHANNEL_METHODS,
)
from yilian.billing.service.registration_fees import (
    CREDIT_METHOD as CREDIT_METHOD,
)
from yilian.billing.service.registration_fees import (
    pay_key as pay_key,
)
from yilian.billing.service.registration_fees import (
    refund_fee as refund_fee,
)
from yilian.billing.service.settlement import (
    CREDIT_POLICY_FIELDS as CREDIT_POLICY_FIELDS,
)
from yilian.billing.service.settlement import (
    DEFAULT_POLICY as DEFAULT_POLICY,
)
from yilian.billing.service.settlement import (
    ORDER_LINE_BASE as ORDER_LINE_BASE,
)
from yilian.billing.service.settlement import (
    REGISTRATION_FEE_CLASS as REGISTRATION_FEE_CLASS,
)
from yilian.billing.service.settlement import (
    VISIT_TYPE as VISIT_TYPE,
)
from yilian.billing.service.settlement import (
    BillOf as BillOf,
)
from yilian.billing.service.settlement import (
    BillRow as BillRow,
)
from yilian.billing.service.settlement import (
    CounterRefund as CounterRefund,
)
from yilian.billing.service.settlement import (
    CreditStatus as CreditStatus,
)
from yilian.billing.service.settlement import (
    arrear_owner as arrear_owner,
)
from yilian.billing.service.settlement import (
    arrears_of as arrears_of,
)
from yilian.billing.service.settlement import (
    audit_precheck as audit_precheck,
)
from yilian.billing.service.settlement import (
    bill_rows as bill_rows,
)
from yilian.billing.service.settlement import (
    cancel_order as cancel_order,
)
from yilian.billing.service.settlement import (
    charge_order as charge_order,
)
from yilian.billing.service.settlement import (
    check_bill_access as check_bill_access,
)
from yilian.billing.service.settlement import (
    counter_days as counter_days,
)
from yilian.billing.service.settlement import (
    credit_dashboard as credit_dashboard,
)
from yilian.billing.service.settlement import (
    credit_encounters as credit_encounters,
)
from yilian.billing.service.settlement import (
    credit_policy as credit_policy,
)
from yilian.billing.service.settlement import (
    credit_policy_for as credit_policy_for,
)
from yilian.billing.service.settlement import (
    credit_status as credit_status,
)
from yilian.billing.service.settlement import (
    encounters_with_charges as encounters_with_charges,
)
from yilian.billing.service.settlement import (
    ensure_registration_charge as ensure_registration_charge,
)
from yilian.billing.service.settlement import (
    estimate as estimate,
)
from yilian.billing.service.settlement import (
    held_today as held_today,
)
from yilian.billing.service.settlement import (
    institution_of_settlement as institution_of_settlement,
)
from yilian.billing.service.settlement import (
    open_arrears as open_arrears,
)
from yilian.billing.service.settlement import (
    open_visit as open_visit,
)
from yilian.billing.service.settlement import (
    order_with_credit as order_with_credit,
)
from yilian.billing.service.settlement import (
    other_arrears as other_arrears,
)
from yilian.billing.service.settlement import (
    pay_arrear as pay_arrear,
)
from yilian.billing.service.settlement import (
    pay_arrear_at_counter as pay_arrear_at_counter,
)
from yilian.billing.service.settlement import (
    payers_for as payers_for,
)
from yilian.billing.service.settlement import (
    recognition_check as recognition_check,
)
from yilian.billing.service.settlement import (
    refund_unperformed_order as refund_unperformed_order,
)
from yilian.billing.service.settlement import (
    refusal_of as refusal_of,
)
from yilian.billing.service.settlement import (
    register_arrears_source as register_arrears_source,
)
from yilian.billing.service.settlement import (
    reverse as reverse,
)
from yilian.billing.service.settlement import (
    reverse_at_counter as reverse_at_counter,
)
from yilian.billing.service.settlement import (
    running_bill as running_bill,
)
from yilian.billing.service.settlement import (
    set_credit_policy as set_credit_policy,
)
from yilian.billing.service.settlement import (
    settle as settle,
)
from yilian.billing.service.settlement import (
    settlement_history as settlement_history,
)
from yilian.billing.service.settlement import (
    settlement_of as settlement_of,
)
from yilian.billing.service.settlement import (
    settlements_of_day as settlements_of_day,
)
from yilian.billing.service.settlement import (
    sign_agreement as sign_agreement,
)
from yilian.billing.service.settlement import (
    standing as standing,
)
from yilian.billing.service.settlement import (
    withdraw_charge as withdraw_charge,
)
