"""Pinyin (拼音) for search: people's names with their surnames read as surnames, and the initials of
catalogue item names. The one place the platform turns Chinese text into letters."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

# Surnames whose reading differs from the character's common reading.
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "仇": "qiu",
    "解": "xie",
    "查": "zha",
    "区": "ou",
    "朴": "piao",
    "盖": "ge",
    "乐": "yue",
    "尉": "yu",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "召": "shao",
    "种": "chong",
    "秘": "bi",
    "繁": "po",
    "员": "yun",
    "华": "hua",
    "任": "ren",
    "沈": "shen",
}


def _keep_lower(text: str) -> list[str]:
    return [c.lower() for c in text]


def name_pinyin(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name in lower case, reading the surname as a surname."""
    chars = [c for c in name if c not in " ·"]
    if not chars:
        return "", ""
    syllables = lazy_pinyin(chars, style=Style.NORMAL, errors=_keep_lower)  # type: ignore[arg-type]
    if chars[0] in SURNAME_READINGS:
        syllables[0] = SURNAME_READINGS[chars[0]]
    syllables = [s.lower() for s in syllables if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


def _mark_other(chars: str) -> list[str]:
    return ["\x00" + chars]  # not Chinese: kept as it is, marked


def name_initials(name: str) -> str:
    """Pinyin initials of an item name for search (葡萄糖测定 → ptcd; 胸部CT平扫 → xbctps), lower case;
    letters and digits that are not Chinese are kept whole."""
    out: list[str] = []
    for part in lazy_pinyin(name, style=Style.NORMAL, errors=_mark_other):  # type: ignore[arg-type]
        if part.startswith("\x00"):
            out.extend(ch.lower() for ch in part[1:] if ch.isascii() and ch.isalnum())
        elif part:
            out.append(part[0].lower())
    return "".join(out)[:100]
