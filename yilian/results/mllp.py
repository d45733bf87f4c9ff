"""MLLP listener (HL7 v2 over TCP, framed <VT> message <FS><CR>) answering each message with an ACK:
AA stored (or already stored), AE refused by a business rule (unknown patient, sender or item, a patient
identity contradicting the index, an NM value that is not a number), AR rejected as malformed.

Group commit: every connection hands its messages to the writer (``WRITERS``; more than one lets one
match a batch while another waits for its commit, at the price of smaller batches and more CPU per
message — one measured best per CPU-second); a writer takes all the
messages waiting (from every connection, up to ``MAX_BATCH``), stores them in one unit of work, commits
once and only then answers each. Two writers meeting on the same message or observation are settled by
the database's unique keys (the later one retries message by message and finds it stored). A refused
message changes nothing of the others; if the batch's commit itself fails,
its messages are stored again one unit of work each, so every AA still means committed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.results import hl7, service
from yilian.results.errors import BadMessage

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1_000_000
MAX_BATCH = 200
WRITERS = 1
log = logging.getLogger("yilian.results.mllp")


UnitOfWork = Callable[[], AbstractContextManager[Session]]


def _refusal(text: str, exc: YilianError) -> str:
    header = hl7.header_of(text)
    code = "AR" if isinstance(exc, BadMessage) else "AE"
    log.warning("MLLP message %s %s: %s", header.control_id, code, exc.detail)
    errors = exc.extra.get("errors")
    locations = exc.extra.get("locations")
    pairs = list(zip(locations, errors, strict=True)) if errors and locations else None
    return hl7.ack(header.control_id, code, exc.detail, header=header, errors=pairs)


def _accepted(text: str, outcome: service.IngestOutcome) -> str:
    header = hl7.header_of(text)
    if outcome.duplicate:
        note = "重复报文，已存在"
    else:
        note = f"已接收 {len(outcome.result_ids)} 条结果"
        if outcome.updated_ids:
            note += f"，更新 {len(outcome.updated_ids)} 条"
    return hl7.ack(header.control_id, "AA", note, header=header)


def handle_batch(texts: list[str], unit: UnitOfWork = unit_of_work) -> list[str]:
    """Store a batch of HL7 messages in one unit of work and return their ACKs (built after the commit)."""
    acks: list[str | None] = [None] * len(texts)
    deliveries: list[service.Delivery] = []
    positions: list[int] = []
    for n, text in enumerate(texts):
        try:
            parsed = hl7.parse_oru(text)
        except YilianError as exc:
            acks[n] = _refusal(text, exc)
            continue
        deliveries.append(service.Delivery("hl7", parsed.sender, parsed.control_id, parsed.results))
        positions.append(n)
    if deliveries:
        try:
            with unit() as session:
                answers = service.ingest_batch(session, deliveries, atomic=len(deliveries) == 1)
        except Exception as exc:
            if len(deliveries) == 1:
                raise
            # a concurrent writer stored one of them first (or a message broke the batch): one by one
            log.warning("MLLP batch of %d not stored (%r); one by one", len(deliveries), exc)
            return [a if a is not None else handle(texts[n], unit) for n, a in enumerate(acks)]
        for n, answer in zip(positions, answers, strict=True):
            text = texts[n]
            acks[n] = _refusal(text, answer) if isinstance(answer, YilianError) else _accepted(text, answer)
    return [a or "" for a in acks]


def handle(text: str, unit: UnitOfWork = unit_of_work) -> str:
    """Process one HL7 message in its own unit of work and return the ACK to send back."""
    return handle_batch([text], unit)[0]


class Writer:
    """The writers of a listener: batch the waiting messages of every connection (group commit)."""

    def __init__(self, unit: UnitOfWork, max_batch: int = MAX_BATCH, writers: int = WRITERS) -> None:
        self.unit = unit
        self.max_batch = max_batch
        self.writers = writers
        self.queue: asyncio.Queue[tuple[str, asyncio.Future[str]]] = asyncio.Queue()

    def submit(self, text: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((text, future))
        return future

    async def run(self) -> None:
        await asyncio.gather(*(self._write() for _ in range(self.writers)))

    async def _write(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                acks = await asyncio.to_thread(handle_batch, [t for t, _ in batch], self.unit)
            except Exception as exc:  # the database is unreachable: answer AE, nothing was committed
                log.exception("MLLP batch failed")
                acks = [
                    hl7.ack(hl7.control_id_of(t), "AE", f"暂时无法存储，请重发: {exc.__class__.__name__}")
                    for t, _ in batch
                ]
            for (_, future), reply in zip(batch, acks, strict=True):
                if not future.done():
                    future.set_result(reply)


async def _client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sink: Writer) -> None:
    replies: asyncio.Queue[asyncio.Future[str] | None] = asyncio.Queue()

    async def answer() -> None:
        while (future := await replies.get()) is not None:
            reply = await future
            writer.write(START + reply.encode("utf-8") + END)
            await writer.drain()

    answering = asyncio.create_task(answer())
    buffer = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > MAX_MESSAGE:
                done = asyncio.get_running_loop().create_future()
                done.set_result(hl7.ack("", "AR", "报文过大"))
                replies.put_nowait(done)
                break
            while END in buffer:
                frame, buffer = buffer.split(END, 1)
                start = frame.find(START)
                if start < 0:
                    continue
                replies.put_nowait(sink.submit(frame[start + 1 :].decode("utf-8", errors="replace")))
    finally:
        replies.put_nowait(None)
        try:
            await answering
        except (ConnectionError, OSError):
            pass
        writer.close()


async def serve(
    host: str,
    port: int,
    *,
    ready: asyncio.Event | None = None,
    unit: UnitOfWork = unit_of_work,
    writers: int = WRITERS,
) -> None:
    """Listen for MLLP connections until cancelled (``writers`` concurrent units of work; 1 when the
    units share one session)."""
    sink = Writer(unit, writers=writers)
    writing = asyncio.create_task(sink.run())

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _client(reader, writer, sink)

    server = await asyncio.start_server(client, host, port)
    log.info("MLLP listening on %s:%s", host, port)
    if ready is not None:
        ready.set()
    try:
        async with server:
            await server.serve_forever()
    finally:
        writing.cancel()
