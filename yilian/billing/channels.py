"""Payment channels behind one adapter interface, and the built-in simulated gateway.

A real adapter (WeChat Pay, Alipay, UnionPay, the insurance platform's credential payment) would
call the provider's API and receive its signed callback over HTTP; the simulated gateway keeps its
own book (``sim_gateway_transactions``), answers at once with a callback signed like a real one,
and produces the daily statement used by reconciliation. It declines payments from a payer
reference ending in ``-declined`` and amounts above its per-transaction limit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from yilian.billing import repository as repo
from yilian.billing.domain import Channel, StatementLine, sign, verify
from yilian.billing.models import GatewayTransaction
from yilian.kit.clock import business_date, utcnow
from yilian.kit.db import insert_rows, table_of
from yilian.kit.money import Fen
from yilian.kit.settings import get_settings


@dataclass(frozen=True)
class ChannelRequest:
    out_trade_no: str
    amount: Fen
    payer_ref: str = ""  # the payer's channel identity (openid, credential token, …)
    out_refund_no: str = ""


class ChannelAdapter(Protocol):
    """What billing needs from a payment channel."""

    channel: Channel

    def charge(self, book: Session, request: ChannelRequest) -> dict[str, str]:
        """Take a payment; returns the channel's signed callback message."""
        ...

    def refund(self, book: Session, request: ChannelRequest) -> dict[str, str]:
        """Refund (part of) a payment; returns the channel's signed callback message."""
        ...

    def verify_callback(self, fields: dict[str, str]) -> bool:
        """Tell whether a callback message was signed by this channel."""
        ...

    def statement(self, book: Session, day: date) -> list[StatementLine]:
        """Return the channel's statement (对账单) for a business day."""
        ...


def channel_secret(channel: Channel) -> str:
    """Return the signing key shared with a channel (derived from the deployment secret)."""
    base = get_settings().resolved_secret()
    return hashlib.sha256(f"{base}:{channel.value}".encode()).hexdigest()


class SimulatedGateway:
    """A built-in gateway for one channel, for the demo, tests and benchmarks."""

    def __init__(self, channel: Channel, *, limit: Fen = 5_000_000) -> None:
        self.channel = channel
        self.limit = limit
        self._secret = channel_secret(channel)

    def _message(self, **fields: str) -> dict[str, str]:
        message = {**fields, "channel": self.channel.value, "nonce": secrets.token_hex(8)}
        message["sign"] = sign(self._secret, message)
        return message

    def _book(self, book: Session, out_trade_no: str, kind: str, amount: Fen) -> str:
        trade_no = f"{self.channel.value[:2].upper()}{utcnow():%Y%m%d%H%M%S}{secrets.token_hex(5).upper()}"
        book.add(
            GatewayTransaction(
                channel=self.channel.value,
                trade_no=trade_no,
                out_trade_no=out_trade_no,
                kind=kind,
                amount=amount,
                business_date=business_date(),
                at=utcnow(),
            )
        )
        book.flush()
        return trade_no

    def charge(self, book: Session, request: ChannelRequest) -> dict[str, str]:
        if request.payer_ref.endswith("-declined"):
            return self._message(out_trade_no=request.out_trade_no, result="FAIL", reason="余额不足")
        if request.amount > self.limit:
            return self._message(out_trade_no=request.out_trade_no, result="FAIL", reason="超出单笔限额")
        trade_no = self._book(book, request.out_trade_no, "pay", request.amount)
        return self._message(
            out_trade_no=request.out_trade_no, trade_no=trade_no, amount=str(request.amount), result="SUCCESS"
        )

    def charge_many(self, book: Session, requests: Sequence[ChannelRequest]) -> list[dict[str, str]]:
        """Take many payments at once (the end-of-day batch); one callback message per request."""
        out: list[dict[str, str]] = []
        rows: list[dict[str, object]] = []
        day, now = business_date(), utcnow()
        stamp = f"{self.channel.value[:2].upper()}{now:%Y%m%d%H%M%S}"
        for request in requests:
            if request.payer_ref.endswith("-declined"):
                out.append(self._message(out_trade_no=request.out_trade_no, result="FAIL", reason="余额不足"))
                continue
            if request.amount > self.limit:
                out.append(
                    self._message(out_trade_no=request.out_trade_no, result="FAIL", reason="超出单笔限额")
                )
                continue
            trade_no = f"{stamp}{secrets.token_hex(5).upper()}"
            rows.append(
                {
                    "channel": self.channel.value,
                    "trade_no": trade_no,
                    "out_trade_no": request.out_trade_no,
                    "kind": "pay",
                    "amount": request.amount,
                    "business_date": day,
                    "at": now,
                }
            )
            out.append(
                self._message(
                    out_trade_no=request.out_trade_no,
                    trade_no=trade_no,
                    amount=str(request.amount),
                    result="SUCCESS",
                )
            )
        if rows:
            insert_rows(book, table_of(GatewayTransaction), rows)
        return out

    def refund(self, book: Session, request: ChannelRequest) -> dict[str, str]:
        trade_no = self._book(book, request.out_refund_no, "refund", request.amount)
        return self._message(
            out_trade_no=request.out_trade_no,
            out_refund_no=request.out_refund_no,
            trade_no=trade_no,
            amount=str(request.amount),
            result="SUCCESS",
        )

    def verify_callback(self, fields: dict[str, str]) -> bool:
        return verify(self._secret, fields)

    def statement(self, book: Session, day: date) -> list[StatementLine]:
        return [
            StatementLine(trade_no=t.trade_no, out_trade_no=t.out_trade_no, kind=t.kind, amount=t.amount)
            for t in repo.gateway_day(book, self.channel.value, day)
        ]


_adapters: dict[Channel, ChannelAdapter] = {}


def adapter_for(channel: Channel) -> ChannelAdapter:
    """Return the adapter configured for a channel (the simulated gateway unless one is registered)."""
    if channel not in _adapters:
        _adapters[channel] = SimulatedGateway(channel)
    return _adapters[channel]


def charge_many(channel: Channel, book: Session, requests: Sequence[ChannelRequest]) -> list[dict[str, str]]:
    """Take many payments through a channel: in one call when its adapter takes a batch, else one by one."""
    adapter = adapter_for(channel)
    batch = getattr(adapter, "charge_many", None)
    if batch is not None:
        return list(batch(book, requests))
    return [adapter.charge(book, r) for r in requests]


def register_adapter(adapter: ChannelAdapter) -> None:
    """Use ``adapter`` for its channel (a real provider integration)."""
    _adapters[adapter.channel] = adapter
