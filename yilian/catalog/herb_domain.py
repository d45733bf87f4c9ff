"""Chinese herbal slices (中药饮片) and the review rules of a herbal prescription (中药审方), pure.

A herb has a unit (g), a price per gram, a usual and a maximum daily dose, a toxic flag, a pregnancy
caution (禁用 / 慎用) and a special handling (先煎, 后下, 包煎, 另煎, 烊化, 冲服). The rules are data:
十八反 and 十九畏 as groups of herb names that must not meet, found in either order; a dose over the
herb's maximum; a toxic herb over its limit; a pregnancy caution for a pregnant patient; a herb
written twice. Each finding carries a Chinese message and a severity: a 禁忌 finding can only be
approved with a doctor's double signature (双签), a 警示 finding is shown to the pharmacist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Handling(StrEnum):
    """Special handling of one herb in decoction (特殊煎法)."""

    NONE = ""
    FIRST = "先煎"
    LATE = "后下"
    WRAPPED = "包煎"
    SEPARATE = "另煎"
    MELT = "烊化"
    INFUSE = "冲服"


class FormulaClass(StrEnum):
    """The class of a formula, which sets the boiling time after the boil (煎煮时间)."""

    GENERAL = "一般"
    EXTERIOR = "解表"
    HEAT = "清热"
    AROMATIC = "芳香"
    TONIC = "补益"

    @property
    def boil_minutes(self) -> tuple[int, int]:
        """Minutes of boiling for the first decoction (DOMAIN §9)."""
        if self in (FormulaClass.EXTERIOR, FormulaClass.HEAT, FormulaClass.AROMATIC):
            return (15, 20)
        if self is FormulaClass.TONIC:
            return (40, 60)
        return (20, 30)


class Pregnancy(StrEnum):
    NONE = ""
    FORBIDDEN = "禁用"
    CAUTION = "慎用"


@dataclass(frozen=True)
class Herb:
    """One herbal slice of the catalogue."""

    code: str
    name: str
    price_fen: int  # per gram
    usual_min_g: int
    usual_max_g: int
    max_g: int  # per dose (剂), the limit above which a double signature is needed
    toxic: bool = False
    pregnancy: Pregnancy = Pregnancy.NONE
    handling: Handling = Handling.NONE
    unit: str = "g"


class Severity(StrEnum):
    BLOCK = "禁忌"  # approved only with the doctor's double signature
    WARN = "警示"


@dataclass(frozen=True)
class Finding:
    rule: str  # 十八反, 十九畏, 超最大剂量, 毒性药超量, 妊娠禁忌, 妊娠慎用, 重复用药
    severity: Severity
    message: str
    herbs: tuple[str, ...]


@dataclass(frozen=True)
class Clash:
    """Two groups of herbs that must not be written together (配伍禁忌)."""

    rule: str
    one: frozenset[str]
    other: frozenset[str]


def _clash(rule: str, one: Iterable[str], other: Iterable[str]) -> Clash:
    return Clash(rule, frozenset(one), frozenset(other))


_WUTOU = ("川乌", "草乌", "附子", "制川乌", "制草乌")
_SHEN_SHAO = ("人参", "沙参", "北沙参", "南沙参", "丹参", "玄参", "苦参", "细辛", "白芍", "赤芍", "党参")

CLASHES: tuple[Clash, ...] = (
    # 十八反: 甘草反甘遂、大戟、海藻、芫花；乌头反贝母、瓜蒌、半夏、白蔹、白及；藜芦反诸参、细辛、芍药
    _clash("十八反", ["甘草", "炙甘草"], ["甘遂", "京大戟", "红大戟", "大戟", "海藻", "芫花"]),
    _clash(
        "十八反",
        _WUTOU,
        ["川贝母", "浙贝母", "贝母", "瓜蒌", "瓜蒌皮", "瓜蒌子", "天花粉", "半夏", "法半夏", "白蔹", "白及"],
    ),
    _clash("十八反", ["藜芦"], _SHEN_SHAO),
    # 十九畏
    _clash("十九畏", ["硫黄"], ["芒硝", "朴硝", "玄明粉"]),
    _clash("十九畏", ["水银"], ["砒霜"]),
    _clash("十九畏", ["狼毒"], ["密陀僧"]),
    _clash("十九畏", ["巴豆"], ["牵牛子", "黑丑", "白丑"]),
    _clash("十九畏", ["丁香", "母丁香"], ["郁金"]),
    _clash("十九畏", ["川乌", "草乌", "制川乌", "制草乌"], ["犀角", "水牛角"]),
    _clash("十九畏", ["牙硝", "芒硝"], ["三棱"]),
    _clash("十九畏", ["肉桂", "官桂"], ["赤石脂"]),
    _clash("十九畏", ["人参"], ["五灵脂"]),
)


@dataclass(frozen=True)
class RxHerb:
    """One line of a herbal prescription as review sees it: the herb and its grams per dose (剂)."""

    herb: Herb
    grams: int


def review(lines: Sequence[RxHerb], *, pregnant: bool, clashes: Sequence[Clash] = CLASHES) -> list[Finding]:
    """Every finding of the rules on a herbal prescription, in rule order."""
    found: list[Finding] = []
    names = [x.herb.name for x in lines]
    present = set(names)
    for clash in clashes:
        a = sorted(present & clash.one)
        b = sorted(present & clash.other)
        for x in a:
            for y in b:
                if x != y:
                    found.append(
                        Finding(clash.rule, Severity.BLOCK, f"{clash.rule}：{x} 与 {y} 不宜同用", (x, y))
                    )
    for line in lines:
        herb = line.herb
        if herb.toxic and line.grams > herb.max_g:
            found.append(
                Finding(
                    "毒性药超量",
                    Severity.BLOCK,
                    f"毒性药 {herb.name} {line.grams} g 超过限量 {herb.max_g} g",
                    (herb.name,),
                )
            )
        elif line.grams > herb.max_g:
            found.append(
                Finding(
                    "超最大剂量",
                    Severity.BLOCK,
                    f"{herb.name} {line.grams} g 超过最大日剂量 {herb.max_g} g",
                    (herb.name,),
                )
            )
        if pregnant and herb.pregnancy is Pregnancy.FORBIDDEN:
            found.append(Finding("妊娠禁忌", Severity.BLOCK, f"孕妇禁用：{herb.name}", (herb.name,)))
        elif pregnant and herb.pregnancy is Pregnancy.CAUTION:
            found.append(Finding("妊娠慎用", Severity.WARN, f"孕妇慎用：{herb.name}", (herb.name,)))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            found.append(Finding("重复用药", Severity.BLOCK, f"重复开具：{name}", (name,)))
        seen.add(name)
    return found


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.BLOCK]


def herbs_from_rows(rows: Iterable[Mapping[str, object]]) -> list[Herb]:
    """Herbs from plain rows (the shipped demo catalogue or the table)."""
    out = []
    for r in rows:
        out.append(
            Herb(
                code=str(r["code"]),
                name=str(r["name"]),
                price_fen=int(str(r["price_fen"])),
                usual_min_g=int(str(r["usual_min_g"])),
                usual_max_g=int(str(r["usual_max_g"])),
                max_g=int(str(r["max_g"])),
                toxic=bool(r.get("toxic", False)),
                pregnancy=Pregnancy(str(r.get("pregnancy", "") or "")),
                handling=Handling(str(r.get("handling", "") or "")),
            )
        )
    return out
