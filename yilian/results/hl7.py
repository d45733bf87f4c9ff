"""HL7 v2.5 ORU^R01 results from a LIS (parsed with hl7apy) and the ACK (AA / AE / AR) answered to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from yilian.kit.clock import BUSINESS_TZ, utcnow
from yilian.results.domain import HL7_STATUS, IncomingResult
from yilian.results.errors import BadMessage

ID_TYPES = ("NNCHN", "ID", "RI", "PN", "")  # identifier types that carry the resident ID number
_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n"}


def unescape(text: str) -> str:
    """Decode HL7 v2 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ \\Xhh..\\)."""

    def sub(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if code.startswith("X") and len(code) > 1:
            try:
                return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
            except ValueError:
                return match.group(0)
        return ""  # formatting escapes (\H\, \N\, ...) carry no text

    return re.sub(r"\\([^\\]*)\\", sub, text)


def parse_ts(text: str) -> datetime:
    """Parse an HL7 DTM (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]); without an offset it is Beijing time."""
    m = re.fullmatch(r"(\d{8})(\d{4})?(\d{2})?(?:\.\d+)?([+-]\d{4})?", text.strip())
    if not m:
        raise BadMessage(f"时间格式错误: {text!r}")
    digits = m.group(1) + (m.group(2) or "0000") + (m.group(3) or "00")
    try:
        naive = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise BadMessage(f"时间不合法: {text!r}") from exc
    if m.group(4):
        sign = 1 if m.group(4)[0] == "+" else -1
        offset = timedelta(hours=int(m.group(4)[1:3]), minutes=int(m.group(4)[3:5])) * sign
        return naive.replace(tzinfo=timezone(offset))
    return naive.replace(tzinfo=BUSINESS_TZ)


@dataclass(frozen=True)
class ParsedMessage:
    control_id: str
    sender: str
    results: list[IncomingResult]


def _field(segment: object, name: str) -> str:
    try:
        return unescape(getattr(segment, name).to_er7())
    except (HL7apyException, AttributeError, IndexError):
        return ""


def _component(raw: str, index: int) -> str:
    parts = raw.split("^")
    return unescape(parts[index]) if index < len(parts) else ""


def control_id_of(text: str) -> str:
    """Return MSH-10 of a raw message without a full parse (for the ACK of an unparsable message)."""
    first = text.replace("\n", "\r").split("\r", 1)[0]
    fields = first.split("|")
    return fields[9] if first.startswith("MSH") and len(fields) > 9 else ""


def parse_oru(text: str) -> ParsedMessage:
    """Parse an ORU^R01 message into results (one per OBX), raising BadMessage with a clear reason."""
    text = text.strip().replace("\r\n", "\r").replace("\n", "\r")
    if not text.startswith("MSH"):
        raise BadMessage("报文必须以 MSH 段开头")
    try:
        msg = parse_message(text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    except HL7apyException as exc:
        raise BadMessage(f"HL7 报文无法解析: {exc}") from exc
    msh = msg.msh
    message_type = msh.msh_9.to_er7()
    if not message_type.startswith("ORU^R01"):
        raise BadMessage(f"不支持的消息类型: {message_type}（只接收 ORU^R01）")
    control_id = msh.msh_10.to_er7().strip()
    if not control_id:
        raise BadMessage("MSH-10 消息控制号为空")
    sender = _component(msh.msh_4.to_er7(), 0).strip()
    if not sender:
        raise BadMessage("MSH-4 发送机构为空")
    id_number = ""
    order_key = ""
    observed_default = ""
    results: list[IncomingResult] = []
    segments = list(msg.children)
    if not any(s.name == "PID" for s in segments):
        raise BadMessage("缺少 PID 段")
    for seg in segments:
        if seg.name == "PID":
            id_number = ""
            for rep in seg.pid_3:
                value = _component(rep.to_er7(), 0).strip()
                id_type = _component(rep.to_er7(), 4).strip().upper()
                if id_type in ID_TYPES and _RESIDENT_ID.match(value):
                    id_number = value.upper()
                    break
            if not id_number:
                raise BadMessage("PID-3 中没有居民身份证号（标识类型 NNCHN）")
        elif seg.name == "OBR":
            order_key = _field(seg, "obr_3") or _field(seg, "obr_2")
            order_key = _component(order_key, 0)
            if not order_key:
                raise BadMessage("OBR-3/OBR-2 检验申请号为空")
            observed_default = _field(seg, "obr_7")
        elif seg.name == "OBX":
            if not order_key:
                raise BadMessage("OBX 段前缺少 OBR 段")
            raw_code = seg.obx_3.to_er7()
            local_code = _component(raw_code, 0).strip()
            if not local_code:
                raise BadMessage(f"OBX-3 项目代码为空（OBX {_field(seg, 'obx_1')}）")
            status_code = _field(seg, "obx_11").strip().upper()
            if status_code not in HL7_STATUS:
                raise BadMessage(f"OBX-11 结果状态不合法: {status_code!r}")
            when = _field(seg, "obx_14") or observed_default
            if not when:
                raise BadMessage("缺少观察时间（OBX-14 / OBR-7）")
            set_id = _field(seg, "obx_1") or str(len(results) + 1)
            results.append(
                IncomingResult(
                    source_key=f"hl7:{sender}:{order_key}:{local_code}:{set_id}",
                    id_number=id_number,
                    sender_code=sender,
                    local_code=local_code,
                    local_name=_component(raw_code, 1),
                    value_text=_field(seg, "obx_5"),
                    unit=_component(seg.obx_6.to_er7(), 0),
                    reference_range=_field(seg, "obx_7"),
                    abnormal_flag=_field(seg, "obx_8"),
                    status=HL7_STATUS[status_code],
                    observed_at=parse_ts(when),
                )
            )
    if not results:
        raise BadMessage("报文中没有 OBX 结果段")
    return ParsedMessage(control_id, sender, results)


def ack(control_id: str, code: str, text: str = "", *, receiver: str = "YILIAN") -> str:
    """Return an HL7 v2.5 ACK (MSA-1 AA / AE / AR) to the message ``control_id``."""
    stamp = utcnow().astimezone(BUSINESS_TZ).strftime("%Y%m%d%H%M%S")
    clean = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
    clean = clean.replace("~", "\\R\\").replace("\r", " ").replace("\n", " ")[:200]
    segments = [
        f"MSH|^~\\&|{receiver}|REGION|||{stamp}||ACK^R01^ACK|ACK{control_id}|P|2.5",
        f"MSA|{code}|{control_id}|{clean}",
    ]
    if code != "AA":
        segments.append(f"ERR|||{'207' if code == 'AE' else '100'}|E||||{clean}")
    return "\r".join(segments) + "\r"
