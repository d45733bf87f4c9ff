"""Outbox delivery after commit, at least once, with failing handlers retried; the access-audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from yilian.kit import events
from yilian.kit.events import OutboxEvent, dispatch_pending


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Real commits on the test database (the outbox is about what happens after commit)."""
    f = sessionmaker(bind=engine, expire_on_commit=False)
    with f() as s:
        s.execute(delete(OutboxEvent))
        s.commit()
    yield f
    with f() as s:
        s.execute(delete(OutboxEvent))
        s.commit()


def test_event_is_delivered_only_after_commit(factory: sessionmaker[Session]) -> None:
    seen: list[dict[str, object]] = []

    def handler(_s: Session, event: events.Event) -> None:
        seen.append(event.payload)

    events.subscribe("test.thing_done")(handler)
    try:
        with factory() as s:
            events.emit(s, "test.thing_done", {"n": 1})
            s.rollback()
        assert dispatch_pending(factory) == 0

        with factory() as s:
            events.emit(s, "test.thing_done", {"n": 2})
            s.commit()
        assert dispatch_pending(factory) == 1
        assert seen == [{"n": 2}]
        assert dispatch_pending(factory) == 0  # delivered once, marked dispatched
    finally:
        events.unsubscribe("test.thing_done", handler)


def test_failing_handler_keeps_event_pending_and_retries(factory: sessionmaker[Session]) -> None:
    calls = {"n": 0}

    def flaky(_s: Session, _event: events.Event) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("temporary failure")

    events.subscribe("test.flaky")(flaky)
    try:
        with factory() as s:
            events.emit(s, "test.flaky", {})
            s.commit()
        assert dispatch_pending(factory) == 0
        with factory() as s:
            row = s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "test.flaky")).one()
            assert (
                row.dispatched_at is None
                and row.attempts == 1
                and "temporary failure" in (row.last_error or "")
            )
        assert dispatch_pending(factory) == 1
        assert calls["n"] == 2
    finally:
        events.unsubscribe("test.flaky", flaky)


def test_handler_writes_are_rolled_back_with_a_failure(factory: sessionmaker[Session]) -> None:
    def writes_then_fails(s: Session, _event: events.Event) -> None:
        events.emit(s, "test.side_effect", {})
        raise RuntimeError("boom")

    events.subscribe("test.partial")(writes_then_fails)
    try:
        with factory() as s:
            events.emit(s, "test.partial", {})
            s.commit()
        dispatch_pending(factory)
        with factory() as s:
            assert s.scalars(select(OutboxEvent).where(OutboxEvent.topic == "test.side_effect")).all() == []
    finally:
        events.unsubscribe("test.partial", writes_then_fails)


def test_dispatcher_delivers_soon_after_commit_from_another_connection(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    """The background dispatcher wakes on commit (in-process) or on NOTIFY (PostgreSQL), not on its timer."""
    import threading

    delivered = threading.Event()

    def handler(_s: Session, _event: events.Event) -> None:
        delivered.set()

    events.subscribe("test.wake")(handler)
    worker = events.Dispatcher(factory, interval=60.0)
    worker.start()
    try:
        time_to_listen = threading.Event()
        time_to_listen.wait(1.0)  # let the PostgreSQL listener connect
        if engine.dialect.name == "postgresql":
            # commit through a raw connection, as another worker process would: only NOTIFY can wake us
            with engine.connect() as conn:
                conn.execute(
                    OutboxEvent.__table__.insert().values(
                        topic="test.wake", payload={}, created_at=events.utcnow(), attempts=0
                    )
                )
                conn.exec_driver_sql("NOTIFY yilian_outbox")
                conn.commit()
        else:
            with factory() as s:
                events.emit(s, "test.wake", {})
                s.commit()
        assert delivered.wait(10.0), "the dispatcher did not wake within 10 s (its timer is 60 s)"
    finally:
        worker.stop()
        events.unsubscribe("test.wake", handler)


def test_audit_page_names_resources_in_chinese() -> None:
    from yilian.kit.access_log import resource_label

    assert resource_label("booking/12") == "预约挂号 12"
    assert resource_label("claim:7") == "医保结算单 7"
    assert resource_label("admissions?status=admitted") == "住院记录 status=admitted"
    assert resource_label("unknown/3") == "unknown/3"
