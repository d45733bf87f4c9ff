"""HL7 v2.5 ORU^R01 results from a LIS and the ACK (AA / AE / AR) answered to it.

The message is split into segments and fields by a small ER7 reader (``segments``): on the ingest hot path
it is ~100× cheaper than a full hl7apy parse, and ``tests/results/test_hl7_parse.py`` checks that it splits
every test message into exactly the fields hl7apy finds. Only the standard encoding characters ``^~\\&``
are accepted.

Rules beyond the structure:

* comments attach to the result they follow: an NTE segment or a comment OBX (OBX-3 ``NOTE``, value type
  ST/TX/FT) after a result OBX is added to that result's comment; one right after the OBR (before any
  result) belongs to every result of that order; an NTE after the PID (a patient note) is not stored;
* an NM observation whose value is not a number is refused with its OBX named (``InvalidValue``: the
  whole message is answered AE and nothing of it is stored, as for every other refusal — the sender
  corrects the OBX and sends the message again);
* the PID name and birth date travel with each result; the service refuses (AE) a message whose values
  contradict the patient index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

from yilian.kit.clock import BUSINESS_TZ, utcnow
from yilian.results.domain import HL7_STATUS, IncomingResult, ResultStatus, parse_number
from yilian.results.errors import BadMessage, InvalidValue

ID_TYPES = ("NNCHN", "ID", "RI", "PN", "")  # identifier types that carry the resident ID number
_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n"}
_ESCAPE = re.compile(r"\\([^\\]*)\\")
_SEGMENT_ID = re.compile(r"^(?:[A-Z][A-Z0-9]{2})$")
# The segments an ORU^R01 (v2.5) may carry; Z segments are local extensions and are skipped.
ORU_SEGMENTS = frozenset(
    "MSH SFT PID PD1 NTE NK1 PV1 PV2 ORC OBR TQ1 TQ2 CTD OBX FT1 CTI SPM SAC DSC".split()
)
COMMENT_CODES = frozenset({"NOTE", "COMMENT", "NTE"})
COMMENT_TYPES = frozenset({"ST", "TX", "FT"})


def unescape(text: str) -> str:
    """Decode HL7 v2 escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ \\Xhh..\\)."""
    if "\\" not in text:
        return text

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

    return _ESCAPE.sub(sub, text)


def escape(text: str) -> str:
    """Encode text for an ER7 field (the reverse of ``unescape``; line breaks become spaces)."""
    clean = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
    return clean.replace("~", "\\R\\").replace("\r", " ").replace("\n", " ")


_DTM = re.compile(r"(\d{8})(\d{4})?(\d{2})?(?:\.\d+)?([+-]\d{4})?")
_OFFSETS: dict[str, timezone] = {}


def parse_ts(text: str) -> datetime:
    """Parse an HL7 DTM (YYYYMMDD[HHMM[SS[.S]]][+/-ZZZZ]); without an offset it is Beijing time."""
    m = _DTM.fullmatch(text.strip())
    if not m:
        raise BadMessage(f"时间格式错误: {text!r}")
    d, hm, sec, zone = m.groups()
    try:
        naive = datetime(
            int(d[:4]),
            int(d[4:6]),
            int(d[6:8]),
            int(hm[:2]) if hm else 0,
            int(hm[2:]) if hm else 0,
            int(sec) if sec else 0,
        )
    except ValueError as exc:
        raise BadMessage(f"时间不合法: {text!r}") from exc
    if zone:
        tz = _OFFSETS.get(zone)
        if tz is None:
            sign = 1 if zone[0] == "+" else -1
            tz = timezone(timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign)
            _OFFSETS[zone] = tz
        return naive.replace(tzinfo=tz)
    return naive.replace(tzinfo=BUSINESS_TZ)


def parse_date(text: str) -> date:
    """Parse an HL7 date (the first 8 digits of a DT / DTM)."""
    return parse_ts(text[:8]).date() if len(text) >= 8 else parse_ts(text).date()


Segment = list[str]  # [segment id, field 1, field 2, ...] as raw ER7 text (MSH-1 is the separator)


def segments(text: str) -> list[Segment]:
    """Split an ER7 message into segments of raw fields, so that ``seg[n]`` is field n (``MSH[1] == '|'``)."""
    out: list[Segment] = []
    for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r"):
        if not line.strip():
            continue
        if line.startswith("MSH"):
            if line[3:8] != "|^~\\&":
                raise BadMessage("只支持标准分隔符 |^~\\&")
            out.append(["MSH", "|", *line[4:].split("|")])
        else:
            out.append(line.split("|"))
    return out


def field(seg: Segment, n: int) -> str:
    """Return raw field ``n`` of a segment ('' when absent)."""
    return seg[n] if n < len(seg) else ""


def component(raw: str, index: int) -> str:
    """Return component ``index`` (0-based) of the first repetition of a raw field, unescaped."""
    parts = raw.split("~", 1)[0].split("^")
    return unescape(parts[index]) if index < len(parts) else ""


@dataclass(frozen=True)
class Header:
    """The MSH fields an ACK answers with (empty when the message has no readable MSH)."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    control_id: str = ""
    version: str = ""


def header_of(text: str) -> Header:
    """Read the MSH of a raw message without parsing the rest (never raises: also for the ACK of a
    message that cannot be parsed)."""
    first = text.lstrip().replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH|"):
        return Header()
    fields = ["MSH", "|", *first[4:].split("|")]

    def at(n: int) -> str:
        return fields[n].strip() if n < len(fields) else ""

    return Header(at(3), at(4), at(5), at(6), at(10), at(12).split("^")[0])


def control_id_of(text: str) -> str:
    """Return MSH-10 of a raw message without a full parse (for the ACK of an unparsable message)."""
    return header_of(text).control_id


@dataclass(frozen=True)
class ParsedMessage:
    control_id: str
    sender: str
    results: list[IncomingResult]
    reported_at: datetime | None = None


def _comment_text(raw: str) -> str:
    return "\n".join(unescape(rep) for rep in raw.split("~") if rep.strip()).strip()


def parse_oru(text: str) -> ParsedMessage:
    """Parse an ORU^R01 message into results (one per result OBX), raising BadMessage with a clear reason
    (or InvalidValue naming every NM OBX whose value is not a number)."""
    text = text.strip()
    if not text.startswith("MSH"):
        raise BadMessage("报文必须以 MSH 段开头")
    segs = segments(text)
    for seg in segs:
        sid = seg[0]
        if not _SEGMENT_ID.match(sid) or (sid not in ORU_SEGMENTS and not sid.startswith("Z")):
            raise BadMessage(f"HL7 报文无法解析: 未知的段 {sid[:8]!r}")
    msh = segs[0]
    message_type = field(msh, 9)
    if not message_type.startswith("ORU^R01"):
        raise BadMessage(f"不支持的消息类型: {message_type}（只接收 ORU^R01）")
    control_id = field(msh, 10).strip()
    if not control_id:
        raise BadMessage("MSH-10 消息控制号为空")
    sender = component(field(msh, 4), 0).strip()
    if not sender:
        raise BadMessage("MSH-4 发送机构为空")
    reported_at = parse_ts(field(msh, 7)) if field(msh, 7).strip() else None
    if not any(s[0] == "PID" for s in segs):
        raise BadMessage("缺少 PID 段")
    id_number = name = ""
    birth: date | None = None
    order_key = observed_default = ""
    order_notes: list[str] = []
    results: list[IncomingResult] = []
    notes: list[list[str]] = []  # comments of each result, by index in ``results``
    orders: list[list[str]] = []  # the order notes in force for each result
    last: int | None = None  # the result a following comment belongs to
    errors: list[str] = []
    locations: list[str] = []
    obx_seen = 0
    for seg in segs:
        sid = seg[0]
        if sid == "PID":
            id_number = ""
            for rep in field(seg, 3).split("~"):
                value = component(rep, 0).strip()
                id_type = component(rep, 4).strip().upper()
                if id_type in ID_TYPES and _RESIDENT_ID.match(value):
                    id_number = value.upper()
                    break
            if not id_number:
                raise BadMessage("PID-3 中没有居民身份证号（标识类型 NNCHN）")
            name = (component(field(seg, 5), 0) + component(field(seg, 5), 1)).strip()
            birth_text = field(seg, 7).strip()
            birth = parse_date(birth_text) if birth_text else None
            order_key, last = "", None
        elif sid == "OBR":
            order_key = component(field(seg, 3), 0) or component(field(seg, 2), 0)
            if not order_key:
                raise BadMessage("OBR-3/OBR-2 检验申请号为空")
            observed_default = unescape(field(seg, 7))
            order_notes, last = [], None
        elif sid == "NTE":
            comment = _comment_text(field(seg, 3))
            if comment and last is not None:
                notes[last].append(comment)
            elif comment and order_key:
                order_notes.append(comment)
        elif sid == "OBX":
            obx_seen += 1
            if not order_key:
                raise BadMessage("OBX 段前缺少 OBR 段")
            raw_code = field(seg, 3)
            local_code = component(raw_code, 0).strip()
            value_type = field(seg, 2).strip().upper()
            set_id = unescape(field(seg, 1)) or str(len(results) + 1)
            if local_code.upper() in COMMENT_CODES and value_type in COMMENT_TYPES:
                comment = _comment_text(field(seg, 5))
                if comment and last is not None:
                    notes[last].append(comment)
                elif comment:
                    order_notes.append(comment)
                continue
            if not local_code:
                raise BadMessage(f"OBX-3 项目代码为空（OBX {set_id}）")
            status_code = unescape(field(seg, 11)).strip().upper()
            if status_code not in HL7_STATUS:
                raise BadMessage(f"OBX-11 结果状态不合法: {status_code!r}")
            status = HL7_STATUS[status_code]
            when = unescape(field(seg, 14)) or observed_default
            if not when:
                raise BadMessage("缺少观察时间（OBX-14 / OBR-7）")
            value_text = unescape(field(seg, 5))
            if (
                value_type == "NM"
                and status is not ResultStatus.CANCELLED
                and parse_number(value_text) is None
            ):
                errors.append(f"OBX {set_id}（{local_code}）数值型（NM）结果不是数字: {value_text[:40]!r}")
                locations.append(f"OBX^{obx_seen}^5")
            results.append(
                IncomingResult(
                    source_key=f"hl7:{sender}:{order_key}:{local_code}:{set_id}",
                    id_number=id_number,
                    sender_code=sender,
                    local_code=local_code,
                    local_name=component(raw_code, 1),
                    value_text=value_text,
                    unit=component(field(seg, 6), 0),
                    reference_range=unescape(field(seg, 7)),
                    abnormal_flag=unescape(field(seg, 8)),
                    status=status,
                    observed_at=parse_ts(when),
                    patient_name=name,
                    birth_date=birth,
                    reported_at=reported_at,
                )
            )
            notes.append([])
            orders.append(order_notes)
            last = len(results) - 1
    if errors:
        raise InvalidValue("；".join(errors), errors=errors, locations=locations)
    if not results:
        raise BadMessage("报文中没有 OBX 结果段")
    results = [
        replace(r, comment="\n".join([*orders[n], *notes[n]])) if (orders[n] or notes[n]) else r
        for n, r in enumerate(results)
    ]
    return ParsedMessage(control_id, sender, results, reported_at)


def ack(
    control_id: str,
    code: str,
    text: str = "",
    *,
    header: Header | None = None,
    errors: list[tuple[str, str]] | None = None,
) -> str:
    """Return an HL7 v2.5 ACK (MSA-1 AA / AE / AR) to the message ``control_id``.

    MSH-3/4 of the ACK are the original's receiving application/facility (MSH-5/6, YILIAN/REGION when
    empty) and MSH-5/6 its sending application/facility (MSH-3/4). ``errors`` are (location, text) pairs,
    one ERR segment each (ERR-2 the location such as ``OBX^2^5``); without them a refusal has one ERR."""
    h = header or Header()
    stamp = utcnow().astimezone(BUSINESS_TZ).strftime("%Y%m%d%H%M%S")
    clean = escape(text)[:200]
    app, facility = h.receiving_application or "YILIAN", h.receiving_facility or "REGION"
    segments_out = [
        f"MSH|^~\\&|{app}|{facility}|{h.sending_application}|{h.sending_facility}|{stamp}||ACK^R01^ACK|"
        f"ACK{control_id}|P|{h.version or '2.5'}",
        f"MSA|{code}|{control_id}|{clean}",
    ]
    if code != "AA":
        hl7_code = "207" if code == "AE" else "100"
        for location, why in errors or [("", text)]:
            error_code = "102" if location.endswith("^5") else hl7_code
            segments_out.append(f"ERR||{location}|{error_code}|E||||{escape(why)[:200]}")
    return "\r".join(segments_out) + "\r"
