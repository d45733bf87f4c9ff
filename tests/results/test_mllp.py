"""The MLLP listener over a real TCP socket: framing, AA for stored and duplicate messages, AE for an
unknown patient, AR for a malformed message, two messages in one TCP segment."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.results.conftest import World
from tests.results.test_ingest import oru
from yilian.results import mllp
from yilian.results.models import Result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listener(session: Session) -> Iterator[int]:
    """An MLLP listener on a free port whose units of work are savepoints of the test's session."""

    @contextmanager
    def unit() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(mllp.serve("127.0.0.1", port, ready=ready, unit=unit)))
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for _ in range(200):
        if ready.is_set():
            break
        threading.Event().wait(0.01)
    yield port
    loop.call_soon_threadsafe(task[0].cancel)
    thread.join(timeout=5)
    loop.close()


def _read_frames(sock: socket.socket, count: int) -> list[str]:
    data = b""
    while data.count(mllp.END) < count:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        data += chunk
    frames = [f for f in data.split(mllp.END) if f]
    assert all(f.startswith(mllp.START) for f in frames)
    return [f[1:].decode() for f in frames]


def _msa(ack: str) -> list[str]:
    segment = next(s for s in ack.split("\r") if s.startswith("MSA|"))
    return segment.split("|")


def test_mllp_acks_over_tcp(session: Session, world: World, listener: int) -> None:
    good = oru(world, control="TCP1", obx=["OBX|1|NM|K^钾^L||4.2|mmol/L|3.5-5.3||||F|||20261110080000"])
    unknown = oru(
        world,
        control="TCP2",
        id_number="11010519491231002X",
        obx=["OBX|1|NM|K^钾^L||4.2|mmol/L|3.5-5.3||||F|||20261110080000"],
    )
    malformed = good.replace("TCP1", "TCP3").replace("OBX|1", "XXX|1")
    with socket.create_connection(("127.0.0.1", listener), timeout=10) as sock:
        sock.sendall(mllp.START + good.encode() + mllp.END)
        first = _read_frames(sock, 1)[0]
        assert _msa(first)[1:3] == ["AA", "TCP1"] and first.startswith("MSH|^~\\&|")
        # the same message again, and the two bad ones, in one TCP segment
        sock.sendall(b"".join(mllp.START + m.encode() + mllp.END for m in (good, unknown, malformed)))
        acks = [_msa(a) for a in _read_frames(sock, 3)]
    assert acks[0][1:3] == ["AA", "TCP1"] and "重复" in acks[0][3]
    assert acks[1][1:3] == ["AE", "TCP2"] and "患者主索引" in acks[1][3]
    assert acks[2][1:3] == ["AR", "TCP3"]
    assert session.scalar(select(func.count()).select_from(Result)) == 1
