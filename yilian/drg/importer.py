"""Parse the CHS-DRG tables in their published text layout into a :class:`domain.Scheme`.

The parsing functions take text (pure); :func:`read_scheme_dir` reads the files of a directory.
Layout of the national publication (as transcribed in ``chs-drg-1.1``):

- ``1_MDC.txt``: ``MDCX name`` lines (the last line may lack its newline);
- ``2_ADRG.txt``: ``XX1 name``; ``3_DRG.txt``: ``XX11 name``;
- ``4_ADRG_DETAIL.txt``: per MDC a ``MDCX 主诊表`` with the principal diagnoses, then per ADRG its
  inclusion conditions (section headers such as ``包含以下主要诊断：``), ``~~`` marks a wrapped line;
- ``5_MCC.txt`` / ``6_CC.txt``: ``code name 表 7-N`` entries, several pages may run on one line;
- ``7_CCE.txt``: exclusion tables ``表 7-N`` followed by principal-diagnosis codes, same trap.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Protocol

from yilian.drg.domain import Adrg, Condition, Mdc, Scheme, derived_or_list, effective_or_list

DX_RE = re.compile(r"[A-Z]\d{2}(?:\.[0-9A-Za-z]+)?(?:\+[A-Z]\d{2}(?:\.[0-9A-Za-z]+)?\*)?")
#: inside running text a code always has its dot (``维生素 B12`` in a name is no code)
DOTTED_DX = r"[A-Z]\d{2}\.[0-9A-Za-z]+(?:\+[A-Z]\d{2}(?:\.[0-9A-Za-z]+)?\*)?"
PROC_RE = re.compile(r"\d{2}\.[0-9A-Za-z]+")
LINE_CODE_RE = re.compile(r"^(" + DX_RE.pattern + r"|" + PROC_RE.pattern + r")(?:\s|$)")
CC_ENTRY_RE = re.compile(r"(?<![0-9A-Za-z.+])(" + DOTTED_DX + r")\s+(.*?)\s*表\s*7-(\d+)", re.S)
CCE_HEADER_RE = re.compile(r"表\s*7-(\d+)")
MDC_LINE_RE = re.compile(r"MDC([A-Z])\s*(.*?)(?=MDC[A-Z]|\n|$)")
ADRG_HEAD_RE = re.compile(r"^([A-Z]{2}\d)\s+(.*)$")
MDC_HEAD_RE = re.compile(r"^MDC([A-Z])\s+(.*)$")
SITE_NAMES = (
    "头颈部创伤",
    "胸部创伤",
    "腹部创伤",
    "泌尿系统创伤",
    "生殖系统创伤",
    "躯干、脊柱创伤",
    "上肢创伤",
    "下肢创伤",
    "骨盆创伤",
)
SEX_OF_MDC = {"M": 1, "N": 2, "O": 2}


@dataclass
class ParseReport:
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def parse_mdc_list(text: str) -> list[tuple[str, str]]:
    return [
        ("MDC" + m.group(1), m.group(2).strip()) for m in MDC_LINE_RE.finditer(text) if m.group(2).strip()
    ]


def parse_named_codes(text: str, pattern: str) -> list[tuple[str, str]]:
    rx = re.compile(r"^(" + pattern + r")\s+(.*)$")
    out = []
    for line in text.splitlines():
        m = rx.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2).replace("~~", "").strip()))
    return out


def parse_cc_list(text: str) -> dict[str, tuple[int, ...]]:
    """``code name 表 7-N`` entries anywhere in the text (pages may run together on one line)."""
    tables: dict[str, list[int]] = defaultdict(list)
    flat = text.replace("~~", "")
    for m in CC_ENTRY_RE.finditer(flat):
        code, table = m.group(1), int(m.group(3))
        if table not in tables[code]:
            tables[code].append(table)
    return {code: tuple(nums) for code, nums in tables.items()}


def parse_exclusions(text: str) -> dict[int, frozenset[str]]:
    """Split on the ``表 7-N`` headers, then collect every diagnosis code of each table."""
    flat = text.replace("~~", "")
    heads = list(CCE_HEADER_RE.finditer(flat))
    found: dict[int, set[str]] = defaultdict(set)
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(flat)
        body = flat[head.end() : end]
        for m in re.finditer(r"(?<![0-9A-Za-z.+])(" + DOTTED_DX + r")(?=\s|$)", body):
            found[int(head.group(1))].add(m.group(1))
    return {n: frozenset(codes) for n, codes in found.items()}


@dataclass
class _Block:
    code: str
    name: str
    lines: list[str] = field(default_factory=list)


def _codes(lines: list[str]) -> frozenset[str]:
    out = set()
    for line in lines:
        m = LINE_CODE_RE.match(line)
        if m:
            out.add(m.group(1))
    return frozenset(out)


def _sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Split an ADRG block into (header, code lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in lines:
        if LINE_CODE_RE.match(line):
            if not out:
                out.append(("", []))
            out[-1][1].append(line)
        else:
            out.append((line.strip(), []))
    return out


def _conditions(block: _Block, report: ParseReport) -> tuple[Condition, ...]:
    secs = _sections(block.lines)
    heads = [h for h, _ in secs]
    if not secs:
        if "任何手术室手术" in block.name or "手术" in block.name:
            report.notes.append(f"{block.code}: 无条件列表，按名称解释为“任一手术室手术”")
            return (Condition(any_or_procedure=True),)
        report.notes.append(f"{block.code}: 无任何入组条件，未能解释")
        return ()
    if any(h.startswith("包含以下主要诊断+") for h in heads):
        # JA1 / NA1 style: named tables combined in alternatives
        tables: dict[str, frozenset[str]] = {}
        combos: list[list[str]] = []
        for head, body in secs:
            if "+" in head:
                combos.append([p.strip() for p in head.replace("或包含", "包含").split("+")[1:]])
            elif head.startswith("主要诊断"):
                tables["主要诊断"] = _codes(body)
            else:
                m = re.match(r"手术(?:表)?\s*(\d+)", head)
                if m:
                    tables[m.group(1)] = _codes(body)
        alts = []
        for combo in combos:
            nums = [re.sub(r"\D", "", c) for c in combo]
            alts.append(
                Condition(
                    principal_dx=tables.get("主要诊断"),
                    all_procedures=tuple(tables[n] for n in nums if n in tables),
                )
            )
        return tuple(alts)
    pdx: frozenset[str] | None = None
    proc: frozenset[str] | None = None
    any_dx: frozenset[str] | None = None
    both: list[frozenset[str]] = []
    any_or = False
    no_proc = False
    for head, body in secs:
        codes = _codes(body)
        if head.startswith("包含以下主要诊断") or head == "主要诊断：":
            pdx = (pdx or frozenset()) | codes
            if "全部手术" in head:
                any_or = True
        elif head.startswith("包含以下主要手术或操作"):
            proc = (proc or frozenset()) | codes
        elif head.startswith("同时包含以下手术") or head == "和":
            both.append(codes)
        elif head.startswith("主要诊断或其他诊断中包含以下诊断") or head.startswith("包含以下诊断"):
            any_dx = (any_dx or frozenset()) | codes
        elif "全部手术" in head:
            any_or = True
            if head.endswith("包含以下主要诊断："):
                pdx = (pdx or frozenset()) | codes
        elif "且无手术" in head:
            no_proc = True
        elif head == "" and codes:
            report.notes.append(f"{block.code}: {len(codes)} 个编码前没有条件标题，已忽略")
        else:
            report.notes.append(f"{block.code}: 未能解释的条件行“{head}”")
    cond = Condition(
        principal_dx=pdx,
        principal_procedure=proc,
        any_dx=any_dx,
        all_procedures=tuple(both),
        any_or_procedure=any_or,
        no_procedure=no_proc,
    )
    return (cond,)


def parse_detail(
    text: str, report: ParseReport
) -> tuple[
    dict[str, frozenset[str]], dict[str, frozenset[str]], list[tuple[str, str, tuple[Condition, ...]]]
]:
    """Return (principal-diagnosis table per MDC, MDCZ body-site tables, ADRGs in table order)."""
    mdc_dx: dict[str, set[str]] = defaultdict(set)
    sites: dict[str, set[str]] = defaultdict(set)
    adrgs: list[tuple[str, str, tuple[Condition, ...]]] = []
    current_mdc = ""
    in_main = False
    site = ""
    block: _Block | None = None

    def close() -> None:
        if block is not None:
            adrgs.append((block.code, block.name, _conditions(block, report)))

    for raw in text.replace("~~", "").splitlines():
        line = raw.strip()
        if not line:
            continue
        mh = MDC_HEAD_RE.match(line)
        if mh:
            close()
            block = None
            current_mdc = "MDC" + mh.group(1)
            in_main = mh.group(2).strip() == "主诊表"
            site = ""
            continue
        ah = ADRG_HEAD_RE.match(line)
        if ah and not LINE_CODE_RE.match(line):
            close()
            in_main = False
            block = _Block(ah.group(1), ah.group(2).strip())
            continue
        if in_main:
            if line in SITE_NAMES:
                site = line
                continue
            m = LINE_CODE_RE.match(line)
            if m:
                mdc_dx[current_mdc].add(m.group(1))
                if site:
                    sites[site].add(m.group(1))
            continue
        if block is not None:
            block.lines.append(line)
    close()
    return (
        {k: frozenset(v) for k, v in mdc_dx.items()},
        {k: frozenset(v) for k, v in sites.items()},
        adrgs,
    )


def _refine(code: str, name: str, c: Condition, report: ParseReport) -> Condition:
    """Conditions the publication states only in the ADRG name: newborn age and birth weight;
    a surgical ADRG listing only diagnoses still needs an operating-room procedure."""
    text = name.replace(" ", "")
    if m := re.search(r"出生体重[＜<](\d+)g", text):
        c = replace(c, max_weight_g=int(m.group(1)) - 1)
    elif m := re.search(r"出生体重(\d+)-(\d+)g", text):
        c = replace(c, min_weight_g=int(m.group(1)), max_weight_g=int(m.group(2)))
    elif m := re.search(r"出生体重[>＞](\d+)g", text):
        c = replace(c, min_weight_g=int(m.group(1)) + 1)
    if re.search(r"出生年龄[＜<]29天", text):
        c = replace(c, max_age_days=28)
    elif re.search(r"29天[≤<=]出生年龄[＜<]1周岁", text):
        c = replace(c, min_age_days=29, max_age_days=364)
    if code[0] == "P" and c.max_age_days is None and c.min_age_days is None:
        c = replace(c, max_age_days=28)  # MDCP groups other than PV1 are for newborns (< 29 days)
    surgical = code[1] in "ABCDEFGHIJ" and (code[0] != "R" or code[1] == "A")
    has_proc = c.principal_procedure is not None or c.all_procedures or c.any_or_procedure or c.no_procedure
    if surgical and not has_proc:
        report.notes.append(f"{code}: 外科 ADRG 只列了诊断，另要求任一手术室手术")
        c = replace(c, any_or_procedure=True)
    return c


def build_scheme(version: str, texts: dict[str, str]) -> tuple[Scheme, ParseReport]:
    """Build a scheme from the seven text files (keys ``1_MDC`` … ``7_CCE``)."""
    report = ParseReport()
    mdcs_list = parse_mdc_list(texts["1_MDC"])
    adrg_names = dict(parse_named_codes(texts["2_ADRG"], r"[A-Z]{2}\d"))
    drg_list = parse_named_codes(texts["3_DRG"], r"[A-Z]{2}\d{2}")
    mdc_dx, sites, adrg_rules = parse_detail(texts["4_ADRG_DETAIL"], report)
    mcc = parse_cc_list(texts["5_MCC"])
    cc = parse_cc_list(texts["6_CC"])
    excl = parse_exclusions(texts["7_CCE"])
    mdcs = tuple(
        Mdc(code=code, name=name, principal_dx=mdc_dx.get(code, frozenset()), sex=SEX_OF_MDC.get(code[-1], 0))
        for code, name in mdcs_list
    )
    adrgs = []
    for code, name, conds in adrg_rules:
        full = adrg_names.get(code, name)
        conds = tuple(_refine(code, full, c, report) for c in conds)
        adrgs.append(Adrg(code=code, name=full, mdc="MDC" + code[0], conditions=conds))
    seen = {a.code for a in adrgs}
    for code in adrg_names:
        if code not in seen:
            report.notes.append(f"{code}: ADRG 目录中有，但细则中没有入组条件")
    drgs = dict(drg_list)
    for a in adrgs:
        if not any(d[:3] == a.code for d in drgs):
            report.notes.append(f"{a.code}: 没有对应的 DRG 细分组")
    or_text = texts.get(OR_FILE)
    if or_text is not None:
        or_procedures = parse_or_list(or_text)
        if not or_procedures:
            report.notes.append("手术室手术目录为空")
        _, as_ops = effective_or_list(or_procedures, adrgs)
        if as_ops:
            report.notes.append(
                f"手术室手术目录 {len(or_procedures)} 个编码，其中 {len(as_ops)} 个"
                f"在本方案中只见于非手术室操作或内科 ADRG（如 {'、'.join(sorted(as_ops)[:3])}），"
                "分组时按操作处理"
            )
    else:
        or_procedures = derived_or_list(adrgs)
        report.notes.append(
            f"未提供手术室手术目录（{OR_FILE}.txt），按外科 ADRG 所列手术操作推定 {len(or_procedures)} 个"
        )
    missing_tables = sorted(
        {t for tabs in list(mcc.values()) + list(cc.values()) for t in tabs if t not in excl}
    )
    if missing_tables:
        report.notes.append("引用但未找到的排除表：" + ", ".join(f"表 7-{t}" for t in missing_tables))
    scheme = Scheme(
        version=version,
        mdcs=mdcs,
        adrgs=tuple(adrgs),
        drgs=drgs,
        mcc=mcc,
        cc=cc,
        exclusions=excl,
        z_sites=sites,
        or_procedures=or_procedures,
    )
    report.counts = {
        "mdc": len(mdcs),
        "adrg": len(adrgs),
        "drg": len(drgs),
        "mcc": len(mcc),
        "cc": len(cc),
        "exclusion_tables": len(excl),
        "exclusion_codes": sum(len(v) for v in excl.values()),
        "mdc_principal_dx": sum(len(m.principal_dx) for m in mdcs),
        "or_procedures": len(or_procedures),
    }
    return scheme, report


FILES = ("1_MDC", "2_ADRG", "3_DRG", "4_ADRG_DETAIL", "5_MCC", "6_CC", "7_CCE")
#: the scheme's list of operating-room procedures (one ``CODE [name]`` a line); optional file
OR_FILE = "or_procedures"


class _Readable(Protocol):
    def __truediv__(self, name: str) -> Any: ...


def _read(directory: _Readable, stem: str) -> str | None:
    """``stem.txt`` or ``stem.txt.gz`` of a folder (a path or a package resource), UTF-8."""
    plain = directory / f"{stem}.txt"
    if plain.is_file():
        return str(plain.read_bytes().decode("utf-8-sig"))
    packed = directory / f"{stem}.txt.gz"
    if packed.is_file():
        return gzip.decompress(packed.read_bytes()).decode("utf-8-sig")
    return None


#: the scheme shipped inside the package (CHS-DRG 1.1, national edition) and its code
PACKAGED_VERSION = "chs-1.1"
PACKAGED_NAME = "CHS-DRG 1.1（国家版）"


def packaged_dir() -> Any:
    """The CHS-DRG 1.1 tables and OR list shipped as package data (``yilian/drg/data/chs_drg_1_1``)."""
    return resources.files("yilian.drg") / "data" / "chs_drg_1_1"


def read_texts(directory: _Readable) -> dict[str, str]:
    """Read the seven files of a scheme directory (UTF-8, plain or gzip'd) and, when present, its
    operating-room procedure list (key ``or_procedures``)."""
    out = {}
    for stem in FILES:
        text = _read(directory, stem)
        if text is None:
            raise FileNotFoundError(f"{directory}/{stem}.txt")
        out[stem] = text
    or_text = _read(directory, OR_FILE)
    if or_text is not None:
        out[OR_FILE] = or_text
    return out


def parse_or_list(text: str) -> frozenset[str]:
    """Codes of an operating-room procedure list: the first field of each line (names may follow)."""
    out = set()
    for line in text.splitlines():
        code = line.strip().split(" ", 1)[0].split("\t", 1)[0]
        if PROC_RE.fullmatch(code):
            out.add(code)
    return frozenset(out)
