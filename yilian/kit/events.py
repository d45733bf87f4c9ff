"""Transactional outbox: ``emit`` writes an event row in the caller's transaction; after commit a
dispatcher delivers it at least once to in-process subscribers (handlers must be idempotent).

On PostgreSQL ``emit`` also queues a ``NOTIFY yilian_outbox`` so dispatchers in other workers wake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from yilian.kit.clock import utcnow
from yilian.kit.db import Base, insert_rows, is_postgres, table_of

log = logging.getLogger("yilian.events")

NOTIFY_CHANNEL = "yilian_outbox"


class OutboxEvent(Base):
    """An event waiting for (or done with) delivery."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Event:
    """What a subscriber receives."""

    id: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime


Handler = Callable[[Session, Event], None]

_subscribers: dict[str, list[Handler]] = defaultdict(list)
_wake = threading.Event()


def subscribe(topic: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``topic`` (``*`` receives every topic)."""

    def register(handler: Handler) -> Handler:
        if handler not in _subscribers[topic]:
            _subscribers[topic].append(handler)
        return handler

    return register


def unsubscribe(topic: str, handler: Handler) -> None:
    """Remove a handler registered with :func:`subscribe`."""
    if handler in _subscribers.get(topic, []):
        _subscribers[topic].remove(handler)


def emit(session: Session, topic: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event into the outbox within the caller's transaction."""
    row = OutboxEvent(topic=topic, payload=payload, created_at=utcnow(), attempts=0)
    session.add(row)
    session.flush()
    if is_postgres(session):
        session.execute(
            text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": topic}
        )
    session.info["yilian_emitted"] = True
    return row


def emit_many(session: Session, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Write many events into the outbox in one statement batch (a batch job's chunk), with one NOTIFY."""
    if not items:
        return
    now = utcnow()
    insert_rows(
        session,
        table_of(OutboxEvent),
        [{"topic": topic, "payload": payload, "created_at": now, "attempts": 0} for topic, payload in items],
    )
    if is_postgres(session):
        session.execute(
            text("SELECT pg_notify(:channel, :topic)"), {"channel": NOTIFY_CHANNEL, "topic": items[0][0]}
        )
    session.info["yilian_emitted"] = True


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop("yilian_emitted", False):
        _wake.set()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("yilian_emitted", None)


BATCH_SECONDS = 0.5  # a batch stops taking new events after this long (short write locks on SQLite)


DISPATCH_LOCK_KEY = 0x59494C49414E  # "YILIAN": the PostgreSQL advisory lock of the outbox dispatcher


def dispatch_pending(factory: sessionmaker[Session], *, limit: int = 100) -> int:
    """Deliver up to ``limit`` pending events in one transaction; returns how many were delivered.

    On PostgreSQL one process dispatches at a time (an advisory transaction lock; the others return 0
    and try again on their next turn), so lines made from events are stored in delivery order. The
    batch is claimed in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), each event's
    handlers run in a savepoint, and each event is marked dispatched in the same transaction as its
    handlers' writes, so a crash redelivers the batch (at least once). A failing handler rolls back
    only its event's savepoint and leaves that event pending with its error. One commit (and one round
    of fsync) per batch instead of one per event: this is what keeps the dispatcher ahead of a busy
    outbox on PostgreSQL (docs/companion.md, benchmarks/companion.py).
    """
    delivered = 0
    with factory() as session:
        if is_postgres(session) and not session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": DISPATCH_LOCK_KEY}
        ):
            # another process is dispatching: one dispatcher at a time keeps every follower's feed in
            # the order its events were delivered (two dispatchers committing side by side gave a
            # patient's later line a lower id, so a stream resumed by id could replay it out of order)
            session.rollback()
            return 0
        claim = (
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if is_postgres(session):
            claim = claim.with_for_update(skip_locked=True)
        rows = list(session.scalars(claim))
        if not rows:
            session.rollback()
            return 0
        started = time.monotonic()
        for row in rows:
            if time.monotonic() - started > BATCH_SECONDS:
                break  # the rest stay pending for the next batch
            item = Event(row.id, row.topic, dict(row.payload), row.created_at)
            try:
                with session.begin_nested():
                    for handler in [*_subscribers.get(item.topic, []), *_subscribers.get("*", [])]:
                        handler(session, item)
            except Exception as exc:  # a handler failed: keep the event pending, record why
                log.exception("event %s (%s) handler failed", item.id, item.topic)
                row.attempts += 1
                row.last_error = repr(exc)[:2000]
                continue
            row.attempts += 1
            row.dispatched_at = utcnow()
            row.last_error = None
            delivered += 1
        session.commit()
    return delivered


class Dispatcher:
    """A background thread that delivers outbox events after commits and on a timer."""

    def __init__(self, factory: sessionmaker[Session], interval: float = 1.0) -> None:
        self.factory = factory
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering in the background (and, on PostgreSQL, listening for NOTIFY)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="yilian-outbox", daemon=True)
        self._thread.start()
        bind = self.factory.kw.get("bind")
        if bind is not None and bind.dialect.name == "postgresql":
            url = bind.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = threading.Thread(
                target=self._listen, args=(url,), name="yilian-listen", daemon=True
            )
            self._listener.start()

    def _listen(self, url: str) -> None:
        """Wake the dispatcher when another worker commits an event (LISTEN yilian_outbox)."""
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            _wake.set()
            except Exception:
                log.exception("outbox listener lost its connection; retrying")
                self._stop.wait(2.0)

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        _wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None

    def _run(self) -> None:
        while not self._stop.is_set():
            _wake.wait(self.interval)
            _wake.clear()
            if self._stop.is_set():
                break
            try:
                while dispatch_pending(self.factory) > 0:
                    pass
            except Exception:
                log.exception("outbox dispatch failed")
