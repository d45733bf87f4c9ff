"""Registration fees (挂号费 / 诊察费) taken by billing for scheduling.

Scheduling confirms a booking by a payment method; besides its own desk/phone/kiosk record, billing
registers these methods (``scheduling.register_fee_payer``):

- ``wechat`` / ``alipay`` / ``unionpay`` / ``cash``: a real payment through the channel adapter, with
  the idempotency key ``registration:<booking id>`` (a retried confirmation never pays twice); the fee
  is then in the channel's daily reconciliation. When the booking is cancelled or its clinic stopped
  (停诊), the fee is refunded through the same channel (key ``registration-refund:<booking id>``).
- ``credit`` (先诊疗后付费，记账挂号): the patient's credit eligibility is checked and the reason given when
  refused (nothing is confirmed); the fee becomes a charge of the registration on the day's bill.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yilian.billing import repository as repo
from yilian.billing.domain import Channel, PaymentStatus
from yilian.billing.errors import CreditRefused
from yilian.billing.models import Refund
from yilian.billing.service import payments
from yilian.billing.service.settlement import credit_policy, refusal_of
from yilian.kit import events
from yilian.kit.clock import business_date
from yilian.scheduling import service as scheduling

CREDIT_METHOD = "credit"
CHANNEL_METHODS = (Channel.WECHAT, Channel.ALIPAY, Channel.UNIONPAY, Channel.CASH)


def pay_key(booking_id: int) -> str:
    return f"registration:{booking_id}"


def _take_fee_on_credit(session: Session, booking: scheduling.FeeBooking) -> str:
    """The registration fee goes onto the day's bill, if the patient may be treated on credit."""
    reason = refusal_of(
        session,
        booking.patient_id,
        credit_policy(session, booking.institution_id),
        scheduling.clinic_type_of(session, booking.id),
        business_date(),
    )
    if reason is not None:
        raise CreditRefused(f"不能先诊疗后付费挂号：{reason}")
    return "credit"


def _through(channel: Channel) -> scheduling.FeePayer:
    def take(session: Session, booking: scheduling.FeeBooking) -> str:
        payment = payments.pay(
            session,
            reference=pay_key(booking.id),
            amount=booking.fee_fen,
            channel=channel,
            idempotency_key=pay_key(booking.id),
            patient_id=booking.patient_id,
        )
        payments.require_succeeded(payment, "挂号费支付")
        return "paid"

    return take


scheduling.register_fee_payer(CREDIT_METHOD, "先诊疗后付费（记账）", _take_fee_on_credit)
for _channel in CHANNEL_METHODS:
    scheduling.register_fee_payer(_channel.value, _channel.label, _through(_channel))


def refund_fee(session: Session, booking_id: int) -> Refund | None:
    """Refund a cancelled or stopped booking's fee through the channel it was paid by (idempotent)."""
    booking = scheduling.find_booking(session, booking_id)
    if booking.payment_state != "refund_due":
        return None
    payment = repo.payment_by_key(session, pay_key(booking.id))
    refund = None
    if payment is not None and payment.status == PaymentStatus.SUCCEEDED:
        refund = payments.refund(
            session,
            payment_id=payment.id,
            amount=booking.fee_fen,
            idempotency_key=f"registration-refund:{booking.id}",
            reason="退挂号费",
        )
        if refund.status != PaymentStatus.SUCCEEDED:
            return refund  # stays refund_due: the next try (same key) picks it up
    scheduling.mark_refunded(session, booking.id)
    return refund


@events.subscribe("scheduling.booking_cancelled")
@events.subscribe("scheduling.clinic_stopped")
def _refund_on_cancel(session: Session, event: events.Event) -> None:
    refund_fee(session, int(event.payload["booking_id"]))
