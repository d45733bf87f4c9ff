"""HTTP API of billing: channel callbacks and reconciliation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request

from yilian.billing import service
from yilian.billing.domain import Channel
from yilian.billing.errors import InvalidPayment
from yilian.billing.schemas import MismatchRead, ReconciliationRead
from yilian.kit.auth.deps import SessionDep, TransactionalRoute, require
from yilian.kit.auth.domain import Actor, Permission

router = APIRouter(prefix="/api/v1/billing", tags=["收费与对账"], route_class=TransactionalRoute)


@router.post("/channels/{channel}/callback", summary="支付渠道回调（签名校验）")
async def channel_callback(channel: Channel, request: Request, session: SessionDep) -> dict[str, str]:
    """Receive a channel's signed notification (form or JSON); unsigned or forged ones are refused."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
    else:
        body = dict(await request.form())
    if not isinstance(body, dict):
        raise InvalidPayment("回调内容应为键值对")
    fields = {str(k): str(v) for k, v in body.items()}
    service.handle_callback(session, channel, fields)
    return {"return_code": "SUCCESS"}


@router.get("/reconciliation", response_model=ReconciliationRead, summary="渠道日对账")
def reconciliation(
    session: SessionDep,
    _actor: Annotated[Actor, require(Permission.BILLING_RECONCILE)],
    day: date,
    channel: Channel,
) -> ReconciliationRead:
    """List the differences between our ledger and the channel's statement for a business day."""
    rows = service.reconcile_day(session, channel, day)
    return ReconciliationRead(
        channel=channel,
        date=day.isoformat(),
        mismatches=[MismatchRead(**m.__dict__, label=m.label) for m in rows],
    )
