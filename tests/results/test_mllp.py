"""The MLLP listener over a real TCP socket: framing, AA for stored and duplicate messages, AE for an
unknown patient, AR for a malformed message, two messages in one TCP segment."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import SYSTEM, make_institution, make_patient
from tests.dbutil import fresh_database
from tests.results.messages import oru
from tests.results.world import World
from yilian.kit import migrate
from yilian.kit.db import build_engine, unit_of_work
from yilian.kit.events import OutboxEvent
from yilian.results import mllp, service
from yilian.results.domain import ResultStatus
from yilian.results.models import IngestLog, Result, ResultRevision


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

    with running_listener(unit, writers=1) as port:  # one session: one writer
        yield port


@contextmanager
def running_listener(unit: mllp.UnitOfWork, writers: int = mllp.WRITERS) -> Iterator[int]:
    """Run an MLLP listener in a thread of its own (its own event loop) and yield its port."""
    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        task.append(loop.create_task(mllp.serve("127.0.0.1", port, ready=ready, unit=unit, writers=writers)))
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


def _send(port: int, messages: list[str]) -> list[str]:
    """Send messages over one MLLP connection, each after the ACK of the one before; return the ACKs."""
    acks = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        for message in messages:
            sock.sendall(mllp.START + message.encode() + mllp.END)
            acks.append(_read_frames(sock, 1)[0])
    return acks


def _reported(message: str, stamp: str) -> str:
    """The message as sent at ``stamp`` (MSH-7)."""
    return message.replace("20261110083000||ORU", f"{stamp}||ORU", 1)


def _version(world: World, status: str, value: str, stamp: str, control: str) -> str:
    obx = [f"OBX|1|NM|K^钾^L||{value}|mmol/L|3.5-5.3||||{status}|||20261110080000"]
    return _reported(oru(world, control=control, obx=obx), stamp)


@pytest.mark.parametrize("order", ["PCF", "FCP", "PFC", "CPF"])
def test_correction_stands_whatever_the_arrival_order(
    session: Session, world: World, listener: int, order: str
) -> None:
    """P at 08:30 (4.0), F at 09:00 (4.2), C at 10:00 (4.6): the correction is what is stored, a late
    preliminary or final never overwrites it, and every delivery is in the history."""
    sent = {"P": ("4.0", "20261110083000"), "F": ("4.2", "20261110090000"), "C": ("4.6", "20261110100000")}
    messages = [_version(world, s, sent[s][0], sent[s][1], f"V{order}{s}") for s in order]
    acks = _send(listener, messages)
    assert [_msa(a)[1] for a in acks] == ["AA", "AA", "AA"]
    rows = session.scalars(select(Result)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.status, row.value_text, row.value_num) == ("corrected", "4.6", 4.6)
    history = session.scalars(
        select(ResultRevision).where(ResultRevision.result_id == row.id).order_by(ResultRevision.id)
    ).all()
    assert [(h.message_id, h.status, h.value_text, h.sender) for h in history] == [
        (f"V{order}{s}", {"P": "preliminary", "F": "final", "C": "corrected"}[s], sent[s][0], "TCO")
        for s in order
    ]
    # applied: each delivery that outranked what stood when it arrived
    rank = {"P": 1, "F": 2, "C": 3}
    best = 0
    for h, s in zip(history, order, strict=True):
        assert h.applied is (rank[s] > best)
        best = max(best, rank[s])
    # the preliminary alone is not recognisable; the corrected one is final
    assert ResultStatus(row.status).is_final


def test_comments_attach_to_the_result_they_follow(session: Session, world: World, listener: int) -> None:
    message = oru(
        world,
        control="NOTE1",
        obx=[
            "OBX|1|NM|K^钾^L||4.1|mmol/L|3.5-5.3||||F|||20261110080000",
            "NTE|1|L|标本轻度溶血~结果仅供参考",
            "OBX|2|TX|NOTE^备注||复查请空腹||||||F",
            "OBX|3|NM|NA^钠^L||140|mmol/L|137-147||||F|||20261110080000",
            "OBX|4|ST|NOTE^备注||钠正常\\.br\\无需处理||||||F",
        ],
    ).replace("|LAB|F\r", "|LAB|F\rNTE|1|L|急诊标本\r", 1)
    ack = _send(listener, [message])[0]
    assert _msa(ack)[1:3] == ["AA", "NOTE1"] and "2 条" in _msa(ack)[3]
    rows = {r.item_code: r for r in session.scalars(select(Result))}
    assert set(rows) == {"K", "NA"}
    assert rows["K"].comment == "急诊标本\n标本轻度溶血\n结果仅供参考\n复查请空腹"
    assert rows["NA"].comment == "急诊标本\n钠正常\n无需处理"


@pytest.mark.parametrize(
    ("name", "birth", "fragment"),
    [("李^四", "19800517", "姓名"), ("王^血糖", "19910101", "出生日期"), ("张^三", "19700101", "姓名")],
)
def test_identity_contradicting_the_index_is_refused(
    session: Session, world: World, listener: int, name: str, birth: str, fragment: str
) -> None:
    message = oru(world, control="ID1").replace("王^血糖||19800517", f"{name}||{birth}")
    ack = _send(listener, [message])[0]
    msa = _msa(ack)
    assert msa[1:3] == ["AE", "ID1"] and fragment in msa[3] and "主索引" in msa[3]
    assert any(s.startswith("ERR||PID^1^") for s in ack.split("\r"))
    assert session.scalar(select(func.count()).select_from(Result)) == 0
    assert session.scalar(select(func.count()).select_from(IngestLog)) == 0
    # the same person written in pinyin, or without a birth date, is accepted
    pinyin = oru(world, control="ID2").replace("王^血糖||19800517", "WANG^XUETANG||")
    service.add_code_map(session, SYSTEM, institution_id=world.county.id, local_code="GLU01", item_code="GLU")
    assert _msa(_send(listener, [pinyin])[0])[1] == "AA"


def test_nm_value_that_is_not_a_number_refuses_the_obx(session: Session, world: World, listener: int) -> None:
    """The message is refused whole (AE, nothing stored) with one ERR per bad OBX naming it (OBX^n^5);
    numbers with a comparator (<0.1) are numbers."""
    bad = oru(
        world,
        control="NM1",
        obx=[
            "OBX|1|NM|K^钾^L||<0.1|mmol/L|3.5-5.3||||F|||20261110080000",
            "OBX|2|NM|NA^钠^L||溶血|mmol/L|137-147||||F|||20261110080000",
            "OBX|3|NM|CL^氯^L||1O2|mmol/L|99-110||||F|||20261110080000",
            "OBX|4|NM|CA^钙^L|||mmol/L|2.1-2.6||||X|||20261110080000",
        ],
    )
    ack = _send(listener, [bad])[0]
    msa = _msa(ack)
    assert msa[1:3] == ["AE", "NM1"] and "OBX 2（NA）" in msa[3] and "OBX 3（CL）" in msa[3]
    errs = [s.split("|") for s in ack.split("\r") if s.startswith("ERR|")]
    assert [(e[2], e[3]) for e in errs] == [("OBX^2^5", "102"), ("OBX^3^5", "102")]
    assert "溶血" in errs[0][8]
    assert session.scalar(select(func.count()).select_from(Result)) == 0
    fixed = bad.replace("NM1", "NM2").replace("||溶血|", "||140|").replace("||1O2|", "||102|")
    assert _msa(_send(listener, [fixed])[0])[1] == "AA"
    assert session.scalar(select(func.count()).select_from(Result)) == 4


def test_ack_header_answers_the_sender(session: Session, world: World, listener: int) -> None:
    good = oru(world, control="HDR1", obx=["OBX|1|NM|K^钾^L||4.2|mmol/L|3.5-5.3||||F|||20261110080000"])
    unknown = oru(world, control="HDR2", id_number="11010519491231002X")
    for message in (good, unknown, good.replace("OBX|1", "XXX|1").replace("HDR1", "HDR3")):
        ack = _send(listener, [message])[0]
        msh = ack.split("\r")[0].split("|")
        # MSH-3/4 ours (the original's MSH-5/6), MSH-5/6 the sender's (the original's MSH-3/4)
        assert msh[2:6] == ["YILIAN", "REGION", "LIS", "TCO"], msh
        assert msh[8] == "ACK^R01^ACK" and msh[11] == "2.5"


def test_same_message_on_two_connections_at_once_is_stored_once() -> None:
    """Two listeners on one database (as two server processes) and two connections to each send the same
    message at the same moment, real commits: one set of results, one ingest log row, every ACK AA."""
    with fresh_database("mllp") as url:
        engine = build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            with unit_of_work(factory) as s:
                inst = make_institution(s, name="并发县医院", code="TCO", level=2)
                patient = make_patient(s, name="王血糖", institution=inst)
                id_number = patient.id_number
            message = (
                "MSH|^~\\&|LIS|TCO|YILIAN|REGION|20261110083000||ORU^R01^ORU_R01|TWICE1|P|2.5\r"
                f"PID|1||{id_number}^^^^NNCHN||王^血糖||19800517\r"
                "OBR|1||FIL-1|CHEM|||20261110075500\r"
                "OBX|1|NM|K^钾^L||4.1|mmol/L|3.5-5.3||||F|||20261110080000\r"
                "OBX|2|NM|NA^钠^L||140|mmol/L|137-147||||F|||20261110080000\r"
            )
            barrier = threading.Barrier(4, timeout=30)

            def send(port: int) -> str:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    barrier.wait()
                    sock.sendall(mllp.START + message.encode() + mllp.END)
                    return _read_frames(sock, 1)[0]

            with (
                running_listener(lambda: unit_of_work(factory)) as one,
                running_listener(lambda: unit_of_work(factory)) as two,
                ThreadPoolExecutor(max_workers=4) as pool,
            ):
                acks = list(pool.map(send, [one, one, two, two]))
            assert [_msa(a)[1:3] for a in acks] == [["AA", "TWICE1"]] * 4
            with unit_of_work(factory) as s:
                assert s.scalar(select(func.count()).select_from(Result)) == 2
                assert s.scalar(select(func.count()).select_from(IngestLog)) == 1
                assert s.scalar(select(func.count()).select_from(ResultRevision)) == 2
                topics = s.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic == "results.received"))
                assert len(list(topics)) == 1
        finally:
            engine.dispose()
