"""MLLP listener (HL7 v2 over TCP, framed <VT> message <FS><CR>) answering each message with an ACK:
AA stored (or already stored), AE refused by a business rule (unknown patient, sender or item), AR
rejected as malformed. Each message is its own unit of work."""

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
log = logging.getLogger("yilian.results.mllp")


UnitOfWork = Callable[[], AbstractContextManager[Session]]


def handle(text: str, unit: UnitOfWork = unit_of_work) -> str:
    """Process one HL7 message in its own unit of work and return the ACK to send back."""
    control_id = hl7.control_id_of(text)
    try:
        with unit() as session:
            outcome = service.ingest_hl7(session, text)
    except BadMessage as exc:
        log.warning("MLLP message %s rejected: %s", control_id, exc.detail)
        return hl7.ack(control_id, "AR", exc.detail)
    except YilianError as exc:
        log.warning("MLLP message %s refused: %s", control_id, exc.detail)
        return hl7.ack(control_id, "AE", exc.detail)
    note = "重复报文，已存在" if outcome.duplicate else f"已接收 {len(outcome.result_ids)} 条结果"
    return hl7.ack(control_id, "AA", note)


async def _client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, unit: UnitOfWork) -> None:
    buffer = b""
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buffer += chunk
            if len(buffer) > MAX_MESSAGE:
                writer.write(START + hl7.ack("", "AR", "报文过大").encode() + END)
                await writer.drain()
                break
            while END in buffer:
                frame, buffer = buffer.split(END, 1)
                start = frame.find(START)
                if start < 0:
                    continue
                text = frame[start + 1 :].decode("utf-8", errors="replace")
                reply = await asyncio.to_thread(handle, text, unit)
                writer.write(START + reply.encode("utf-8") + END)
                await writer.drain()
    finally:
        writer.close()


async def serve(
    host: str, port: int, *, ready: asyncio.Event | None = None, unit: UnitOfWork = unit_of_work
) -> None:
    """Listen for MLLP connections until cancelled."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _client(reader, writer, unit)

    server = await asyncio.start_server(client, host, port)
    log.info("MLLP listening on %s:%s", host, port)
    if ready is not None:
        ready.set()
    async with server:
        await server.serve_forever()
