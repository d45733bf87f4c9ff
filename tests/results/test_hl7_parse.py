"""The light ER7 reader of the ingest hot path splits every message into exactly the segments and fields
hl7apy finds (hl7apy stays the reference here, in the tests)."""

from __future__ import annotations

from datetime import date

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from tests.results.messages import oru
from tests.results.world import World
from yilian.results import hl7

BENCH = (
    "MSH|^~\\&|LIS|B-C1|YILIAN|REGION|20261120090000||ORU^R01^ORU_R01|BM0000001|P|2.5\r"
    "PID|1||320602198005170012^^^^NNCHN~HBM0000001^^^B-C1^MR||基准^患者||19800517|M\r"
    "OBR|1||BM0000001|GLU|||20261120080000\r"
    "OBX|1|NM|GLU^项目^L||5.6|mmol/L|3.9-6.1|N|||F|||20261120080000\r"
    "NTE|1|L|标本溶血~请复查\r"
    "OBX|2|TX|NOTE^备注||见\\F\\附件||||||F\r"
    "OBX|3|NM|K^钾^L||4.1|mmol/L|3.5-5.3||||C|||20261120080000+0800\r"
    "ZXT|1|本地扩展\r"
)


def _reference(text: str) -> list[list[str]]:
    """Segments and raw fields as hl7apy parses them (trailing empty fields dropped)."""
    msg = parse_message(text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    out = []
    for seg in msg.children:
        fields: dict[int, list[str]] = {}
        for child in seg.children:
            fields.setdefault(int(child.name.split("_")[1]), []).append(child.to_er7())
        size = max(fields, default=0)
        out.append([seg.name, *("~".join(fields.get(n, [])) for n in range(1, size + 1))])
    return out


def _light(text: str) -> list[list[str]]:
    out = []
    for seg in hl7.segments(text):
        while len(seg) > 1 and seg[-1] == "":
            seg = seg[:-1]
        out.append(seg)
    return out


def _messages(world: World) -> list[str]:
    return [
        oru(world),
        oru(world, obx=["OBX|1|NM|K^钾^L||4.2|mmol/L|3.5-5.3||||F|||20261110080000", "NTE|1||注释"]),
        BENCH,
    ]


def test_light_reader_matches_hl7apy(world: World) -> None:
    for text in _messages(world):
        assert _light(text) == _reference(text)


def test_parse_reads_the_fields(world: World) -> None:
    parsed = hl7.parse_oru(BENCH)
    assert parsed.control_id == "BM0000001" and parsed.sender == "B-C1"
    glu, k = parsed.results
    assert glu.source_key == "hl7:B-C1:BM0000001:GLU:1" and glu.value_text == "5.6"
    assert glu.comment == "标本溶血\n请复查\n见|附件" and k.comment == ""
    assert k.status.value == "corrected" and glu.patient_name == "基准患者"
    assert glu.birth_date == date(1980, 5, 17) and glu.id_number == "320602198005170012"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (BENCH.replace("MSH|^~\\&", "MSH|^~\\#"), "分隔符"),
        (BENCH.replace("OBR|1", "OBQ|1"), "未知的段"),
        (BENCH.replace("ORU^R01", "ADT^A01"), "ORU^R01"),
        (BENCH.replace("|19800517|", "|1980-05|"), "时间"),
    ],
)
def test_malformed_messages_are_named(text: str, fragment: str) -> None:
    with pytest.raises(hl7.BadMessage) as info:
        hl7.parse_oru(text)
    assert fragment in info.value.detail
