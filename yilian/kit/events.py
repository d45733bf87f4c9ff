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

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Index,
    Insert,
    String,
    Text,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
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
BatchHandler = Callable[[Session, list[Event]], None]

_subscribers: dict[str, list[Handler]] = defaultdict(list)
_batch_subscribers: dict[str, list[BatchHandler]] = defaultdict(list)
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


def subscribe_batch(topic: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register a handler that receives the events of ``topic`` (``*``: every topic) of a dispatch batch
    at once, in id order, so it can use set-based statements (one query for all the batch's patients,
    one insert) instead of a round trip per event. It must be idempotent per event like any handler; if
    it raises on the batch, it is called again one event at a time so only the failing events stay
    pending."""

    def register(handler: BatchHandler) -> BatchHandler:
        if handler not in _batch_subscribers[topic]:
            _batch_subscribers[topic].append(handler)
        return handler

    return register


def unsubscribe_batch(topic: str, handler: BatchHandler) -> None:
    """Remove a handler registered with :func:`subscribe_batch`."""
    if handler in _batch_subscribers.get(topic, []):
        _batch_subscribers[topic].remove(handler)


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


def event_insert(rows: FromClause, topic: str, payload: ColumnElement[Any]) -> Insert:
    """The INSERT of one ``topic`` event per row of ``rows`` (a CTE of the caller's statement, such as
    the rows it inserted), its payload built in SQL from their columns: the event folded into the
    statement that makes the change, one round trip for both and in its transaction by construction.
    ``created_at`` is the bound parameter ``event_at``. The caller adds :func:`notify` on PostgreSQL,
    and after running the statement calls :func:`emitted` if it wrote an event."""
    table = table_of(OutboxEvent)
    return insert(table).from_select(
        ["topic", "payload", "created_at", "attempts"],
        select(
            literal(topic, String()),
            payload,
            bindparam("event_at", type_=table.c.created_at.type),
            literal(0),
        ).select_from(rows),
    )


def notify(topic: str) -> ColumnElement[Any]:
    """The outbox's NOTIFY as a column of the caller's statement (PostgreSQL), as ``emit`` sends it."""
    return func.pg_notify(literal(NOTIFY_CHANNEL, String()), literal(topic, String()))


def emitted(session: Session) -> None:
    """Tell that the session's transaction wrote outbox events (its local dispatcher wakes after the
    commit), for events written by :func:`event_insert`."""
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
    batch is claimed in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Each event's
    per-event handlers run in a savepoint; then each batch handler (:func:`subscribe_batch`) gets all
    the batch's events of its topics in one savepoint (on failure, again one event per savepoint). The
    delivered events are marked dispatched by one UPDATE in the same transaction as the handlers'
    writes, so a crash redelivers the batch (at least once). A failing handler rolls back only its
    savepoint and leaves its event pending with the error. One commit (one round of fsync) per batch:
    this is what keeps the dispatcher ahead of a busy outbox (docs/companion.md,
    benchmarks/companion.py).
    """
    with factory() as session:
        # the batch's writes are derived from committed events and land atomically with their
        # "dispatched" marks: if PostgreSQL crashed before they reached disk, the whole batch would be
        # lost together and its events delivered again (at least once). So the batch's commit need
        # not wait for its WAL flush (synchronous_commit off for this transaction only), which on a
        # busy disk was most of a batch's time; set in the same round trip as the lock.
        if is_postgres(session) and not session.scalar(
            text(
                "SELECT pg_try_advisory_xact_lock(:key)"
                " AND set_config('synchronous_commit', 'off', true) = 'off'"
            ),
            {"key": DISPATCH_LOCK_KEY},
        ):
            # another process is dispatching: one dispatcher at a time keeps every follower's feed in
            # the order its events were delivered (two dispatchers committing side by side gave a
            # patient's later line a lower id, so a stream resumed by id could replay it out of order)
            session.rollback()
            return 0
        table = table_of(OutboxEvent)
        claim = (
            select(table.c.id, table.c.topic, table.c.payload, table.c.created_at)
            .where(table.c.dispatched_at.is_(None))
            .order_by(table.c.id)
            .limit(limit)
        )
        if is_postgres(session):
            claim = claim.with_for_update(skip_locked=True)
        rows = session.execute(claim).all()
        if not rows:
            session.rollback()
            return 0
        started = time.monotonic()
        items: list[Event] = []
        failed: dict[int, str] = {}
        for event_id, topic, payload, created_at in rows:
            if time.monotonic() - started > BATCH_SECONDS:
                break  # the rest stay pending for the next batch
            item = Event(event_id, topic, dict(payload), created_at)
            items.append(item)
            handlers = [*_subscribers.get(topic, []), *_subscribers.get("*", [])]
            if not handlers:
                continue
            try:
                with session.begin_nested():
                    for handler in handlers:
                        handler(session, item)
            except Exception as exc:  # a handler failed: keep the event pending, record why
                log.exception("event %s (%s) handler failed", item.id, item.topic)
                failed[item.id] = repr(exc)[:2000]
        for batch_handler, topics in _batch_handlers():
            mine = [i for i in items if i.id not in failed and ("*" in topics or i.topic in topics)]
            if mine:
                _run_batch(session, batch_handler, mine, failed)
        done = [i.id for i in items if i.id not in failed]
        now = utcnow()
        for i in range(0, len(done), 500):
            session.execute(
                update(table)
                .where(table.c.id.in_(done[i : i + 500]))
                .values(dispatched_at=now, attempts=table.c.attempts + 1, last_error=None)
            )
        for event_id, error in failed.items():
            session.execute(
                update(table)
                .where(table.c.id == event_id)
                .values(attempts=table.c.attempts + 1, last_error=error)
            )
        session.commit()
    return len(done)


def _batch_handlers() -> list[tuple[BatchHandler, set[str]]]:
    """Each batch handler once, with the topics it subscribed to."""
    found: dict[BatchHandler, set[str]] = {}
    for topic, handlers in list(_batch_subscribers.items()):
        for handler in handlers:
            found.setdefault(handler, set()).add(topic)
    return list(found.items())


def _run_batch(session: Session, handler: BatchHandler, items: list[Event], failed: dict[int, str]) -> None:
    if len(items) > 1:
        try:
            with session.begin_nested():
                handler(session, items)
            return
        except Exception:
            log.warning("batch handler failed on %d events; retrying one at a time", len(items))
    for item in items:  # find the failing events: one at a time, each in its own savepoint
        try:
            with session.begin_nested():
                handler(session, [item])
        except Exception as exc:
            log.exception("event %s (%s) batch handler failed", item.id, item.topic)
            failed[item.id] = repr(exc)[:2000]


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
