"""API shapes of billing's payment layer."""

from __future__ import annotations

from pydantic import BaseModel

from yilian.billing.domain import Channel


class MismatchRead(BaseModel):
    out_trade_no: str
    kind: str
    reason: str
    label: str
    ours: int | None
    theirs: int | None


class ReconciliationRead(BaseModel):
    channel: Channel
    date: str
    mismatches: list[MismatchRead]
