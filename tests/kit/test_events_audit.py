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
    assert resource_label("admissions?status=admitted") == "住院记录 状态=在院"
    assert resource_label("admissions?status=discharged,settled") == "住院记录 状态=已出院待结算、已出院结算"
    assert resource_label("admissions?institution=3&ward=&scope=mine") == "住院记录 机构=3 范围=本人"
    assert resource_label("results?patient=12&code=GLU") == "检查检验结果 患者=12 项目=GLU"
    assert resource_label("unknown/3") == "unknown/3"


def test_batch_handler_gets_the_batch_in_order_and_a_failing_event_stays_pending(
    factory: sessionmaker[Session],
) -> None:
    """A batch handler sees the dispatch batch's events together, in id order; when one of them makes it
    fail, it is called again one event at a time: the others are delivered, the bad one stays pending
    with its error, and per-event handlers of the same topic still see every event."""
    calls: list[list[int]] = []
    single: list[int] = []

    def batch(_s: Session, items: list[events.Event]) -> None:
        if any(i.payload.get("bad") for i in items):
            raise RuntimeError("bad event")
        calls.append([int(i.payload["n"]) for i in items])

    def one(_s: Session, item: events.Event) -> None:
        single.append(int(item.payload["n"]))

    events.subscribe_batch("test.batched")(batch)
    events.subscribe("test.batched")(one)
    try:
        with factory() as s:
            for n in range(4):
                events.emit(s, "test.batched", {"n": n, "bad": n == 2})
            events.emit(s, "test.other", {"n": 9})
            s.commit()
        assert dispatch_pending(factory) == 4  # test.other has no handler: delivered; n=2 stays pending
        assert calls == [[0], [1], [3]]  # the batch of four failed, then one at a time
        assert single == [0, 1, 2, 3]
        with factory() as s:
            pending = s.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all()
            assert [(r.payload["n"], r.attempts) for r in pending] == [(2, 1)]
            assert "bad event" in (pending[0].last_error or "")
        calls.clear()
        with factory() as s:
            events.emit(s, "test.batched", {"n": 5, "bad": False})
            events.emit(s, "test.batched", {"n": 6, "bad": False})
            s.commit()
        s2 = factory()
        with s2:
            row = s2.scalars(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).first()
            assert row is not None
            row.payload = {"n": 2, "bad": False}  # the cause is fixed: the next batch delivers it too
            s2.commit()
        assert dispatch_pending(factory) == 3
        assert calls == [[2, 5, 6]]  # one call for the whole batch, in id order
        assert dispatch_pending(factory) == 0
    finally:
        events.unsubscribe_batch("test.batched", batch)
        events.unsubscribe("test.batched", one)
