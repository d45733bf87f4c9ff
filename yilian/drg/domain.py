"""CHS-DRG grouper (pure domain: dataclasses, no I/O).

A :class:`Scheme` holds the national tables (MDC principal-diagnosis tables, ADRG inclusion
conditions in table order, DRG list, MCC/CC lists with their exclusion-table numbers, the exclusion
tables). :class:`Grouper` indexes a scheme once so that grouping a record costs only dict/set look-ups.

Order (docs/domain.md §7): MDCA, MDCP, MDCY, MDCZ, then the MDC of the principal diagnosis (MDCM male
only, MDCN/MDCO female only), ADRG in table order, DRG by MCC/CC with exclusions.
Outcomes: ``grouped``; ``ungroupable`` (DRG ``0000``) and ``ambiguous`` (DRG ``<MDC letter>QY``:
an operating-room procedure that none of the MDC's surgical ADRGs accepts), both with a reason.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

UNGROUPABLE = "0000"
PRE_MDC = ("MDCA", "MDCP", "MDCY", "MDCZ")
SEX_NAMES = {1: "男", 2: "女"}
DX_CODE_RE = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Za-z]{1,12})?(\+[A-Z]\d{2}(\.[0-9A-Za-z]{1,6})?\*)?$")
PROC_CODE_RE = re.compile(r"^\d{2}(\.[0-9A-Za-z]{1,12})?$")
SURGICAL_LETTERS = frozenset("ABCDEFGHIJ")


class RecordError(ValueError):
    """A discharge record that cannot be grouped as given (bad input, not a grouping outcome)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


def base_code(code: str) -> str:
    """``N18.900x012+D63.8*`` → ``N18.900x012`` (the dagger part of a dagger/asterisk pair)."""
    plus = code.find("+")
    return code if plus < 0 else code[:plus]


@dataclass(frozen=True)
class Condition:
    """One way into an ADRG; every requirement given must hold (None / empty = no requirement)."""

    principal_dx: frozenset[str] | None = None
    principal_procedure: frozenset[str] | None = None
    any_dx: frozenset[str] | None = None
    all_procedures: tuple[frozenset[str], ...] = ()
    any_or_procedure: bool = False
    no_procedure: bool = False
    min_age_days: int | None = None
    max_age_days: int | None = None
    min_weight_g: int | None = None
    max_weight_g: int | None = None


@dataclass(frozen=True)
class Mdc:
    code: str
    name: str
    principal_dx: frozenset[str]
    sex: int = 0  # 0 = any, 1 = male only, 2 = female only


@dataclass(frozen=True)
class Adrg:
    code: str
    name: str
    mdc: str
    conditions: tuple[Condition, ...]

    @property
    def surgical(self) -> bool:
        """A–J as second letter = surgical ADRG (for MDCR only the RA groups are surgery)."""
        letter = self.code[1]
        if self.mdc == "MDCR":
            return letter == "A"
        return letter in SURGICAL_LETTERS


@dataclass(frozen=True)
class Scheme:
    version: str
    mdcs: tuple[Mdc, ...]
    adrgs: tuple[Adrg, ...]
    drgs: dict[str, str]
    mcc: dict[str, tuple[int, ...]]
    cc: dict[str, tuple[int, ...]]
    exclusions: dict[int, frozenset[str]]
    z_sites: dict[str, frozenset[str]] = field(default_factory=dict)
    #: operating-room procedures (手术室手术) of the scheme: "全部手术/任何手术室手术" and the QY groups
    or_procedures: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DischargeRecord:
    """The 病案首页 fields the grouper uses. Sex: 1 male, 2 female, 0/9 unknown."""

    principal_dx: str
    other_dx: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()  # principal procedure first
    sex: int = 0
    age_years: int | None = None
    age_days: int | None = None
    birth_weight_g: int | None = None
    admission_date: date | None = None
    discharge_date: date | None = None
    los_days: int | None = None
    disposition: str = ""
    ventilation_hours: int | None = None
    department: str = ""
    total_cost_fen: int | None = None

    @property
    def principal_procedure(self) -> str | None:
        return self.procedures[0] if self.procedures else None


class GroupStatus(StrEnum):
    """The outcome of grouping one case: in a DRG (入组), no DRG (无法入组, 0000) or an ambiguous group."""

    GROUPED = "grouped"
    UNGROUPABLE = "ungroupable"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class GroupResult:
    status: str  # a GroupStatus value
    drg: str
    drg_name: str
    mdc: str | None
    adrg: str | None
    severity: str  # MCC | CC | none
    trigger: str | None
    excluded: tuple[str, ...]
    steps: tuple[str, ...]
    reason: str | None = None
    scheme_version: str = ""
    #: the procedure taken as principal (the first OR procedure when the first listed is not one)
    principal_procedure: str | None = None
    #: codes of the record not in the 医保版 code tables (only checked when the names are known)
    unknown: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        return "\n".join(f"{i}. {s}" for i, s in enumerate(self.steps, 1))


def split_codes(value: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in re.split(r"[|,;，；\s]+", value or "") if c.strip())


def make_record(
    *,
    principal_dx: str,
    other_dx: Iterable[str] = (),
    procedures: Iterable[str] = (),
    sex: int = 0,
    age_years: int | None = None,
    age_days: int | None = None,
    birth_weight_g: int | None = None,
    admission_date: date | None = None,
    discharge_date: date | None = None,
    los_days: int | None = None,
    disposition: str = "",
    ventilation_hours: int | None = None,
    department: str = "",
    total_cost_fen: int | None = None,
) -> DischargeRecord:
    """Validate and build a record; raises :class:`RecordError` on bad input."""
    pdx = (principal_dx or "").strip()
    if not pdx:
        raise RecordError("principal_dx", "缺少主要诊断")
    dx = tuple(d.strip() for d in other_dx if d and d.strip())
    px = tuple(p.strip() for p in procedures if p and p.strip())
    for code in (pdx, *dx):
        if not DX_CODE_RE.match(code):
            raise RecordError("diagnosis", f"诊断编码“{code}”不是有效的 ICD-10 编码")
    for code in px:
        if not PROC_CODE_RE.match(code):
            raise RecordError("procedure", f"手术操作编码“{code}”不是有效的 ICD-9-CM-3 编码")
    if sex not in (0, 1, 2, 9):
        raise RecordError("sex", "性别应为 1（男）、2（女）、0 或 9（未知）")
    if age_years is not None and not 0 <= age_years <= 150:
        raise RecordError("age_years", "年龄应在 0–150 岁之间")
    if age_days is not None and age_days < 0:
        raise RecordError("age_days", "年龄（天）不能为负数")
    if birth_weight_g is not None and not 0 < birth_weight_g <= 9999:
        raise RecordError("birth_weight_g", "新生儿出生体重应在 1–9999 克之间")
    if los_days is not None and los_days < 0:
        raise RecordError("los_days", "住院天数不能为负数")
    if ventilation_hours is not None and ventilation_hours < 0:
        raise RecordError("ventilation_hours", "呼吸机使用时长不能为负数")
    if total_cost_fen is not None and total_cost_fen < 0:
        raise RecordError("total_cost", "总费用不能为负数")
    if admission_date and discharge_date:
        if discharge_date < admission_date:
            raise RecordError("discharge_date", "出院日期早于入院日期")
        if los_days is None:
            los_days = (discharge_date - admission_date).days
    return DischargeRecord(
        principal_dx=pdx,
        other_dx=dx,
        procedures=px,
        sex=sex,
        age_years=age_years,
        age_days=age_days,
        birth_weight_g=birth_weight_g,
        admission_date=admission_date,
        discharge_date=discharge_date,
        los_days=los_days,
        disposition=disposition,
        ventilation_hours=ventilation_hours,
        department=department,
        total_cost_fen=total_cost_fen,
    )


def _with_base(codes: Iterable[str]) -> frozenset[str]:
    out = set()
    for c in codes:
        out.add(c)
        out.add(base_code(c))
    return frozenset(out)


def _has(code: str, codes: frozenset[str] | set[str] | dict[str, object]) -> bool:
    return code in codes or ("+" in code and base_code(code) in codes)


def _get(mapping: dict[str, tuple[int, ...]], code: str) -> tuple[int, ...] | None:
    got = mapping.get(code)
    if got is None and "+" in code:
        got = mapping.get(base_code(code))
    return got


@dataclass(frozen=True)
class _IndexedAdrg:
    adrg: Adrg
    conditions: tuple[Condition, ...]

    takes_procedure: bool  # some condition asks for a procedure (surgical and 操作 groups)


@dataclass(frozen=True)
class _MdcIndex:
    """Which ADRGs (positions in table order) a principal diagnosis or procedure can reach."""

    by_pdx: dict[str, tuple[int, ...]]
    by_proc: dict[str, tuple[int, ...]]
    always: tuple[int, ...]
    first_without_procedure: int

    @staticmethod
    def build(items: Sequence[_IndexedAdrg]) -> _MdcIndex:
        by_pdx: dict[str, list[int]] = {}
        by_proc: dict[str, list[int]] = {}
        always: list[int] = []
        first = len(items)
        for i, ia in enumerate(items):
            if not ia.takes_procedure and first == len(items):
                first = i
            conds = ia.conditions
            if conds and all(c.principal_dx is not None for c in conds):
                for c in conds:
                    for code in c.principal_dx or ():
                        by_pdx.setdefault(code, []).append(i)
            elif conds and all(c.principal_procedure is not None for c in conds):
                for c in conds:
                    for code in c.principal_procedure or ():
                        by_proc.setdefault(code, []).append(i)
            else:
                always.append(i)
        return _MdcIndex(
            {k: tuple(sorted(set(v))) for k, v in by_pdx.items()},
            {k: tuple(sorted(set(v))) for k, v in by_proc.items()},
            tuple(always),
            first,
        )


def _procedures_named(c: Condition) -> set[str]:
    out = set(c.principal_procedure or ())
    for t in c.all_procedures:
        out |= t
    return out


def derived_or_list(adrgs: Iterable[Adrg]) -> frozenset[str]:
    """For a scheme without an OR list: the procedures its surgical ADRGs name."""
    out: set[str] = set()
    for a in adrgs:
        if a.surgical:
            for c in a.conditions:
                out |= _procedures_named(c)
    return frozenset(out)


def effective_or_list(
    or_list: frozenset[str], adrgs: Iterable[Adrg]
) -> tuple[frozenset[str], frozenset[str]]:
    """(OR procedures used for grouping, codes of the list treated as operations).

    The ADRG letters of the publication sort each MDC into 外科手术 (A–J; MDCR only RA),
    非手术室操作 and 内科 groups. A code of the OR list that the scheme names only in non-surgical
    groups and in no surgical one (96.7101 呼吸机治疗 in FP1/PK1, 92.24 放疗 in RC1 …) is by the
    scheme's own classification an operation: it never makes a record surgical or ambiguous."""
    surgical: set[str] = set()
    operations: set[str] = set()
    for a in adrgs:
        for c in a.conditions:
            (surgical if a.surgical else operations).update(_procedures_named(c))
    as_operation = frozenset(code for code in operations - surgical if code in or_list)
    return or_list - as_operation, as_operation


class Grouper:
    """Indexes a :class:`Scheme` once; :meth:`group` is then only look-ups."""

    def __init__(self, scheme: Scheme, names: Mapping[str, str] | None = None) -> None:
        """``names``: code → Chinese name (diagnoses and procedures) for the explanation."""
        self.scheme = scheme
        self.names: Mapping[str, str] = names or {}
        self.version = scheme.version
        self.mdc_by_code = {m.code: m for m in scheme.mdcs}
        self.mdc_order = [m.code for m in scheme.mdcs]
        mdc_of: dict[str, list[str]] = {}
        for m in scheme.mdcs:
            for code in _with_base(m.principal_dx):
                mdc_of.setdefault(code, []).append(m.code)
        self.mdc_of_pdx = {k: tuple(v) for k, v in mdc_of.items()}
        self.mdc_dx = {m.code: _with_base(m.principal_dx) for m in scheme.mdcs}
        self.adrgs_by_mdc: dict[str, list[_IndexedAdrg]] = {}
        for a in scheme.adrgs:
            conds = tuple(
                Condition(
                    principal_dx=_with_base(c.principal_dx) if c.principal_dx is not None else None,
                    principal_procedure=c.principal_procedure,
                    any_dx=_with_base(c.any_dx) if c.any_dx is not None else None,
                    all_procedures=c.all_procedures,
                    any_or_procedure=c.any_or_procedure,
                    no_procedure=c.no_procedure,
                    min_age_days=c.min_age_days,
                    max_age_days=c.max_age_days,
                    min_weight_g=c.min_weight_g,
                    max_weight_g=c.max_weight_g,
                )
                for c in a.conditions
            )
            takes = any(c.principal_procedure or c.all_procedures or c.any_or_procedure for c in conds)
            self.adrgs_by_mdc.setdefault(a.mdc, []).append(_IndexedAdrg(a, conds, takes))
        # the scheme's OR list less what the scheme itself classes as operations; a scheme stored
        # without a list falls back to what its surgical ADRGs name
        if scheme.or_procedures:
            self.or_procedures, _ = effective_or_list(scheme.or_procedures, scheme.adrgs)
        else:
            self.or_procedures = derived_or_list(scheme.adrgs)
        self._index: dict[str, _MdcIndex] = {
            m: _MdcIndex.build(items) for m, items in self.adrgs_by_mdc.items()
        }
        self.adrg_names = {a.code: a.name for a in scheme.adrgs}
        self.drgs = scheme.drgs
        suffixes: dict[str, set[str]] = {}
        for code in scheme.drgs:
            suffixes.setdefault(code[:3], set()).add(code[3:])
        self.suffixes = suffixes
        pdx_tables: dict[str, set[int]] = {}
        for num, codes in scheme.exclusions.items():
            for code in _with_base(codes):
                pdx_tables.setdefault(code, set()).add(num)
        self.pdx_tables = {k: frozenset(v) for k, v in pdx_tables.items()}
        self.mcc = scheme.mcc
        self.cc = scheme.cc
        site_of: dict[str, set[str]] = {}
        for site, codes in scheme.z_sites.items():
            for code in _with_base(codes):
                site_of.setdefault(code, set()).add(site)
        self.site_of = {k: frozenset(v) for k, v in site_of.items()}
        known_dx: set[str] = set(self.mdc_of_pdx) | set(self.pdx_tables) | set(self.mcc) | set(self.cc)
        self.known_dx = frozenset(known_dx)
        self._pdx_sorted = sorted(self.mdc_of_pdx)

    # ------------------------------------------------------------------ helpers
    def _age_days(self, r: DischargeRecord) -> int | None:
        if r.age_days is not None:
            return r.age_days
        if r.age_years is not None:
            return r.age_years * 365 if r.age_years > 0 else None
        return None

    def _match(self, c: Condition, r: DischargeRecord, age_days: int | None, pproc: str | None) -> bool:
        if c.principal_dx is not None and not _has(r.principal_dx, c.principal_dx):
            return False
        if c.principal_procedure is not None and (pproc is None or pproc not in c.principal_procedure):
            return False
        if c.any_dx is not None:
            if not (_has(r.principal_dx, c.any_dx) or any(_has(d, c.any_dx) for d in r.other_dx)):
                return False
        for table in c.all_procedures:
            if not any(p in table for p in r.procedures):
                return False
        if c.any_or_procedure and not any(p in self.or_procedures for p in r.procedures):
            return False
        if c.no_procedure and any(p in self.or_procedures for p in r.procedures):
            return False
        if c.min_age_days is not None and (age_days is None or age_days < c.min_age_days):
            return False
        if c.max_age_days is not None and (age_days is None or age_days > c.max_age_days):
            return False
        if c.min_weight_g is not None and (r.birth_weight_g is None or r.birth_weight_g < c.min_weight_g):
            return False
        if c.max_weight_g is not None and (r.birth_weight_g is None or r.birth_weight_g > c.max_weight_g):
            return False
        return True

    def principal_procedure(self, r: DischargeRecord) -> tuple[str | None, int]:
        """The principal procedure used for grouping and its position (0-based) in the record.

        The first listed, unless it is not an operating-room procedure while a later one is: then the
        first OR procedure listed. 《住院病案首页数据填写质量规范（暂行）》 puts surgery first
        (第二十三条：既有手术又有操作时，按手术优先原则) and defines the principal procedure as the
        one for the principal diagnosis with the greatest risk and difficulty (第二十二条), so a
        diagnostic or therapeutic operation listed ahead of a surgery is a listing error the grouper
        does not follow."""
        procs = r.procedures
        if not procs:
            return None, -1
        ors = self.or_procedures
        if procs[0] in ors:
            return procs[0], 0
        for i in range(1, len(procs)):
            if procs[i] in ors:
                return procs[i], i
        return procs[0], 0

    def _scan(
        self, mdc: str, r: DischargeRecord, age_days: int | None, pproc: str | None
    ) -> tuple[Adrg | None, bool]:
        """First ADRG of ``mdc`` in table order. Ambiguous when the principal procedure is an
        operating-room procedure and the scan reaches the groups that take no procedure (medical
        groups, "no surgery" groups) without any procedure group having accepted it.

        Only the ADRGs whose key lists hold the record's principal diagnosis or procedure (plus the
        few with other conditions) are tested, in table order; :meth:`_scan_linear` is the plain
        definition and a test checks both agree."""
        index = self._index.get(mdc)
        if index is None:
            return None, False
        items = self.adrgs_by_mdc[mdc]
        is_or = pproc is not None and pproc in self.or_procedures
        pdx = r.principal_dx
        found: set[int] = set(index.always)
        hit = index.by_pdx.get(pdx)
        if hit:
            found.update(hit)
        if "+" in pdx:
            hit = index.by_pdx.get(base_code(pdx))
            if hit:
                found.update(hit)
        if pproc is not None:
            hit = index.by_proc.get(pproc)
            if hit:
                found.update(hit)
        limit = index.first_without_procedure if is_or else len(items)
        for i in sorted(found):
            if i >= limit:
                break
            ia = items[i]
            for c in ia.conditions:
                if self._match(c, r, age_days, pproc):
                    return ia.adrg, False
        return None, is_or and limit < len(items)

    def _scan_linear(
        self, mdc: str, r: DischargeRecord, age_days: int | None, pproc: str | None
    ) -> tuple[Adrg | None, bool]:
        is_or = pproc is not None and pproc in self.or_procedures
        for ia in self.adrgs_by_mdc.get(mdc, ()):
            if is_or and not ia.takes_procedure:
                return None, True
            for c in ia.conditions:
                if self._match(c, r, age_days, pproc):
                    return ia.adrg, False
        return None, False

    def severity(self, r: DischargeRecord) -> tuple[str, str | None, tuple[str, ...]]:
        """(MCC|CC|none, triggering secondary diagnosis, secondaries excluded by the principal)."""
        pdx_tabs = self.pdx_tables.get(r.principal_dx)
        if pdx_tabs is None and "+" in r.principal_dx:
            pdx_tabs = self.pdx_tables.get(base_code(r.principal_dx))
        pdx_tabs = pdx_tabs or frozenset()
        level, trigger = "none", None
        excluded: list[str] = []
        for d in r.other_dx:
            if d == r.principal_dx:
                continue
            tabs = _get(self.mcc, d)
            lvl = "MCC"
            if tabs is None:
                tabs = _get(self.cc, d)
                lvl = "CC"
                if tabs is None or level == "CC":
                    continue
            if not pdx_tabs.isdisjoint(tabs):
                excluded.append(d)
                continue
            level, trigger = lvl, d
            if lvl == "MCC":
                break
        return level, trigger, tuple(excluded)

    def _pick_drg(self, adrg: str, level: str) -> str | None:
        have = self.suffixes.get(adrg, set())
        order = {"MCC": ("1", "3", "5"), "CC": ("3", "5"), "none": ("5",)}[level]
        for s in order:
            if s in have:
                return adrg + s
        if "9" in have:
            return adrg + "9"
        return None

    def unknown_codes(self, r: DischargeRecord) -> tuple[str, ...]:
        """Codes of the record missing from the 医保版 code tables (none checked without names)."""
        names = self.names
        if not names:
            return ()
        out = []
        for code in (r.principal_dx, *r.other_dx, *r.procedures):
            if code not in names and not ("+" in code and base_code(code) in names):
                out.append(code)
        return tuple(out)

    def principal_dx_problem(self, pdx: str) -> tuple[str | None, tuple[str, ...]]:
        """Before grouping: why a principal diagnosis cannot be grouped (None if an MDC accepts it) and
        codes of the MDC tables that extend it (``K35.800`` → ``K35.800x001`` 急性阑尾炎)."""
        pdx = pdx.strip()
        if not pdx or self.mdc_of_pdx.get(pdx) or ("+" in pdx and self.mdc_of_pdx.get(base_code(pdx))):
            return None, ()
        i = bisect.bisect_left(self._pdx_sorted, pdx)
        extended: list[str] = []
        while i < len(self._pdx_sorted) and self._pdx_sorted[i].startswith(pdx) and len(extended) < 8:
            extended.append(self._pdx_sorted[i])
            i += 1
        if not extended and "." in pdx:
            stem = pdx.split(".", 1)[0] + "." + pdx.split(".", 1)[1][:2]
            i = bisect.bisect_left(self._pdx_sorted, stem)
            while i < len(self._pdx_sorted) and self._pdx_sorted[i].startswith(stem) and len(extended) < 8:
                extended.append(self._pdx_sorted[i])
                i += 1
        reason = (
            f"主要诊断 {self.label(pdx)} 不属本方案（{self.version}）任何 MDC 的主诊表，"
            "分组结果将为 0000（无法入组）"
        )
        return reason, tuple(extended)

    def label(self, code: str | None) -> str:
        """``code name`` when the name is known (``31.1x00x005 暂时性气管切开术``), else the code."""
        if code is None:
            return "无"
        name = self.names.get(code)
        if name is None and "+" in code:
            name = self.names.get(base_code(code))
        return f"{code} {name}" if name else code

    def _procedure_step(self, procs: tuple[str, ...], pproc: str | None, ppos: int) -> str:
        """Which procedure is the principal OR procedure and why the others are not."""
        ors = self.or_procedures
        if pproc is None or pproc not in ors:
            listed = "、".join(self.label(p) for p in procs)
            return f"手术操作 {listed} 均不是手术室手术（诊断性或治疗性操作），不使病例进入外科组或歧义组"
        text = f"主要手术 {self.label(pproc)}（手术室手术，第 {ppos + 1} 位）"
        if ppos > 0:
            before = "、".join(self.label(p) for p in procs[:ppos])
            text += (
                f"；列于其前的 {before} 不是手术室手术，按手术优先原则"
                "（《住院病案首页数据填写质量规范》第二十二、二十三条）不作主要手术"
            )
        if ppos + 1 < len(procs):
            text += f"；其后 {len(procs) - ppos - 1} 个手术操作按填写顺序为其他手术操作"
        return text

    # ------------------------------------------------------------------ grouping
    def group(self, r: DischargeRecord) -> GroupResult:
        steps: list[str] = []
        age_days = self._age_days(r)
        pdx = r.principal_dx
        pproc, ppos = self.principal_procedure(r)
        label = self.label
        steps.append(
            f"主要诊断 {label(pdx)}；主要手术操作 {label(pproc) if pproc else '无'}；"
            f"其他诊断 {len(r.other_dx)} 个，手术操作 {len(r.procedures)} 个"
        )
        if r.procedures:
            steps.append(self._procedure_step(r.procedures, pproc, ppos))
        unknown = self.unknown_codes(r)
        if unknown:
            steps.append(f"编码 {'、'.join(unknown)} 不在医保版编码表中，请核对")

        def ungroupable(reason: str, mdc: str | None = None) -> GroupResult:
            steps.append(f"结论：无法入组（0000），原因：{reason}")
            return GroupResult(
                GroupStatus.UNGROUPABLE.value,
                UNGROUPABLE,
                "无法入组",
                mdc,
                None,
                "none",
                None,
                (),
                tuple(steps),
                reason,
                self.version,
                pproc,
                unknown,
            )

        if not _has(pdx, self.known_dx):
            return ungroupable(f"主要诊断 {label(pdx)} 不在本方案（{self.version}）的任何编码表中")
        mdc: str | None = None
        adrg: Adrg | None = None
        # MDCA: transplants, ventilation ≥ 96 h, ECMO
        if r.ventilation_hours is not None and r.ventilation_hours >= 96:
            for ia in self.adrgs_by_mdc.get("MDCA", ()):
                if ia.adrg.code == "AH1":
                    adrg = ia.adrg
                    steps.append(f"MDCA：有创呼吸机 {r.ventilation_hours} 小时 ≥ 96 小时，入 AH1")
        if adrg is None:
            adrg, _ = self._scan("MDCA", r, age_days, pproc)
            if adrg is not None:
                steps.append(f"MDCA：主要手术操作 {label(pproc)} 符合 {adrg.code} {adrg.name} 的条件")
            else:
                steps.append("MDCA（先期分组）：不符合移植、呼吸机≥96小时或 ECMO 的条件")
        if adrg is not None:
            mdc = "MDCA"
        # MDCP: newborns and infants with a perinatal principal diagnosis
        if mdc is None:
            in_p = _has(pdx, self.mdc_dx.get("MDCP", frozenset()))
            if in_p and age_days is not None and age_days < 365:
                mdc = "MDCP"
                steps.append(f"MDCP：年龄 {age_days} 天（<1 周岁）且主要诊断属新生儿疾病主诊表，入 MDCP")
            elif in_p:
                steps.append("MDCP：主要诊断属新生儿疾病主诊表，但年龄不足以判定为新生儿/婴儿（需 <1 周岁）")
            else:
                steps.append("MDCP：主要诊断不属新生儿疾病主诊表")
        # MDCY: HIV
        if mdc is None:
            if _has(pdx, self.mdc_dx.get("MDCY", frozenset())):
                mdc = "MDCY"
                steps.append("MDCY：主要诊断为 HIV 感染相关疾病，入 MDCY")
            else:
                steps.append("MDCY：主要诊断不属 HIV 相关主诊表")
        # MDCZ: multiple severe trauma, ≥ 2 body sites
        if mdc is None:
            if _has(pdx, self.mdc_dx.get("MDCZ", frozenset())):
                sites: set[str] = set()
                for d in (pdx, *r.other_dx):
                    s = self.site_of.get(d) or self.site_of.get(base_code(d))
                    if s:
                        sites |= s
                if len(sites) >= 2:
                    mdc = "MDCZ"
                    steps.append(
                        f"MDCZ：主要诊断为严重创伤，且创伤部位 {len(sites)} 个"
                        f"（{'、'.join(sorted(sites))}）≥ 2，入 MDCZ"
                    )
                else:
                    steps.append(f"MDCZ：主要诊断为严重创伤，但创伤部位仅 {len(sites)} 个（需 ≥ 2）")
            else:
                steps.append("MDCZ：主要诊断不属多发严重创伤主诊表")
        candidates: list[str] = [mdc] if mdc is not None else []
        if mdc is None or mdc == "MDCP":
            raw = [
                m
                for m in (self.mdc_of_pdx.get(pdx) or self.mdc_of_pdx.get(base_code(pdx)) or ())
                if m not in PRE_MDC
            ]
            normal = []
            for m in raw:
                need = self.mdc_by_code[m].sex
                if need and r.sex != need:
                    who = "患者性别不符" if r.sex in (1, 2) else "患者性别未知"
                    steps.append(f"{m}（{self.mdc_by_code[m].name}）仅限{SEX_NAMES[need]}性，{who}，排除")
                    continue
                normal.append(m)
            if mdc is None and not normal:
                if raw:
                    return ungroupable("主要诊断与患者性别不符", raw[0])
                return ungroupable(f"主要诊断 {label(pdx)} 不属任何 MDC 的主诊表")
            if len(normal) > 1:
                steps.append(f"主要诊断同时属于 {'、'.join(normal)}，按表序逐一尝试")
            candidates += normal
        if adrg is None:
            for m in candidates:
                if m not in PRE_MDC:
                    steps.append(f"按主要诊断进入 {m} {self.mdc_by_code[m].name}")
                found, ambiguous = self._scan(m, r, age_days, pproc)
                if ambiguous and m == "MDCP" and len(candidates) > 1:
                    steps.append(f"MDCP 内没有接受主要手术 {label(pproc)} 的组，按主要诊断所属其他 MDC 继续")
                    continue
                if ambiguous:
                    drg = m[-1] + "QY"
                    reason = (
                        f"主要诊断属 {m}，主要手术 {label(pproc)} 是手术室手术，"
                        "但不被该 MDC 的任何外科 ADRG 接受（歧义组）"
                    )
                    steps.append(f"结论：歧义组 {drg}，{reason}")
                    return GroupResult(
                        GroupStatus.AMBIGUOUS.value,
                        drg,
                        "歧义组",
                        m,
                        None,
                        "none",
                        None,
                        (),
                        tuple(steps),
                        reason,
                        self.version,
                        pproc,
                        unknown,
                    )
                if found is not None:
                    adrg, mdc = found, m
                    break
                steps.append(f"{m} 内没有符合条件的 ADRG")
        if adrg is None or mdc is None:
            return ungroupable(
                "主要诊断及手术操作不符合任何 ADRG 的入组条件", candidates[-1] if candidates else None
            )
        how = "主要手术操作" if pproc and adrg.surgical else "主要诊断"
        steps.append(f"ADRG：按表序，{how}符合 {adrg.code} {adrg.name}")
        level, trigger, excluded = self.severity(r)
        for d in excluded:
            steps.append(f"其他诊断 {label(d)} 属 CC/MCC，但主要诊断在其排除表中，不计")
        have = self.suffixes.get(adrg.code, set())
        if have == {"9"}:
            steps.append(f"{adrg.code} 不按并发症细分，入 {adrg.code}9")
        elif trigger:
            steps.append(
                f"其他诊断 {label(trigger)} 为"
                + ("严重并发症或合并症（MCC）" if level == "MCC" else "并发症或合并症（CC）")
            )
        else:
            steps.append("其他诊断中没有有效的 CC/MCC")
        picked = self._pick_drg(adrg.code, level)
        if picked is None:
            return ungroupable(f"{adrg.code} 在方案中没有 DRG 细分组", mdc)
        drg = picked
        name = self.drgs.get(drg, "")
        steps.append(f"结论：{drg} {name}")
        return GroupResult(
            GroupStatus.GROUPED.value,
            drg,
            name,
            mdc,
            adrg.code,
            level,
            trigger,
            excluded,
            tuple(steps),
            None,
            self.version,
            pproc,
            unknown,
        )

    def group_many(self, records: Sequence[DischargeRecord]) -> list[GroupResult]:
        return [self.group(r) for r in records]


# ---------------------------------------------------------------------- payment and analysis


@dataclass(frozen=True)
class DrgPolicy:
    """Weight (RW), mean cost and stay of one DRG, and the outlier thresholds (ratios of mean cost)."""

    drg: str
    weight: Decimal
    mean_cost_fen: int | None = None
    mean_los_days: Decimal | None = None
    high_ratio: Decimal = Decimal("2.0")
    low_ratio: Decimal = Decimal("0.4")


def expected_payment_fen(weight: Decimal, base_rate_fen: int) -> int:
    """payment = RW × base rate, rounded half up to the fen."""
    return int((weight * base_rate_fen).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def outlier(cost_fen: int, policy: DrgPolicy) -> str:
    """``high`` / ``low`` / ``""`` against the group's mean cost (docs/domain.md §7 defaults 2.0 / 0.4)."""
    if not policy.mean_cost_fen:
        return ""
    if cost_fen > policy.high_ratio * policy.mean_cost_fen:
        return "high"
    if cost_fen < policy.low_ratio * policy.mean_cost_fen:
        return "low"
    return ""


@dataclass(frozen=True)
class CaseFact:
    """One grouped discharge as the analysis sees it."""

    department: str
    doctor: str
    drg: str
    weight: Decimal
    cost_fen: int
    los_days: int
    payment_fen: int
    outlier: str = ""


@dataclass(frozen=True)
class UnitStats:
    unit: str
    cases: int
    total_weight: Decimal
    cmi: Decimal
    cost_index: Decimal
    time_index: Decimal
    cost_fen: int
    payment_fen: int
    profit_fen: int
    high_outliers: int
    low_outliers: int


def _q(value: Decimal, places: str = "0.0001") -> Decimal:
    return value.quantize(Decimal(places), rounding="ROUND_HALF_UP")


def analyse(facts: Sequence[CaseFact], by: str = "department") -> list[UnitStats]:
    """CMI = Σweight / cases; cost / time consumption index = Σ(unit value / regional mean for the
    same DRG) weighted by cases, i.e. the case-mix-adjusted ratio (1 = regional average)."""
    mean_cost: dict[str, Decimal] = {}
    mean_los: dict[str, Decimal] = {}
    per_drg: dict[str, list[CaseFact]] = {}
    for f in facts:
        per_drg.setdefault(f.drg, []).append(f)
    for drg, items in per_drg.items():
        mean_cost[drg] = Decimal(sum(i.cost_fen for i in items)) / len(items)
        mean_los[drg] = Decimal(sum(i.los_days for i in items)) / len(items)
    units: dict[str, list[CaseFact]] = {}
    for f in facts:
        units.setdefault(f.department if by == "department" else f.doctor, []).append(f)
    out = []
    for unit, items in sorted(units.items()):
        n = len(items)
        tw = sum((i.weight for i in items), Decimal(0))
        expected_cost = sum((mean_cost[i.drg] for i in items), Decimal(0))
        expected_los = sum((mean_los[i.drg] for i in items), Decimal(0))
        cost = sum(i.cost_fen for i in items)
        los = sum(i.los_days for i in items)
        pay = sum(i.payment_fen for i in items)
        out.append(
            UnitStats(
                unit=unit,
                cases=n,
                total_weight=_q(tw),
                cmi=_q(tw / n),
                cost_index=_q(Decimal(cost) / expected_cost) if expected_cost else Decimal(0),
                time_index=_q(Decimal(los) / expected_los) if expected_los else Decimal(0),
                cost_fen=cost,
                payment_fen=pay,
                profit_fen=pay - cost,
                high_outliers=sum(1 for i in items if i.outlier == "high"),
                low_outliers=sum(1 for i in items if i.outlier == "low"),
            )
        )
    return out


# ---------------------------------------------------------------------- 病案首页 rows

#: accepted column names (first = canonical) for an uploaded 病案首页 row; the layout of
#: ``cases_with_expected_drg.csv`` (Index, gender, age, ageDay, weight, dept, inHospitalTime,
#: leavingType, ICD10_DRGS, ICD9_DRGS) is accepted as well.
COLUMNS: dict[str, tuple[str, ...]] = {
    "record_no": ("record_no", "病案号", "Index"),
    "department": ("department", "科室", "dept"),
    "doctor": ("doctor", "主治医师"),
    "sex": ("sex", "性别", "gender"),
    "age_years": ("age_years", "年龄", "age"),
    "age_days": ("age_days", "年龄天数", "ageDay"),
    "birth_weight_g": ("birth_weight_g", "新生儿出生体重", "weight"),
    "admission_date": ("admission_date", "入院日期"),
    "discharge_date": ("discharge_date", "出院日期"),
    "los_days": ("los_days", "住院天数", "inHospitalTime"),
    "disposition": ("disposition", "离院方式", "leavingType"),
    "diagnoses": ("diagnoses", "诊断编码", "ICD10_DRGS"),
    "procedures": ("procedures", "手术操作编码", "ICD9_DRGS"),
    "ventilation_hours": ("ventilation_hours", "呼吸机使用小时"),
    "total_cost": ("total_cost", "总费用"),
}
_SEX_WORDS = {"男": 1, "女": 2, "M": 1, "F": 2, "1": 1, "2": 2, "0": 0, "9": 9, "": 0}


def _pick(row: dict[str, str], key: str) -> str:
    for name in COLUMNS[key]:
        value = row.get(name)
        if value is not None:
            return str(value).strip()
    return ""


def _int(row: dict[str, str], key: str) -> int | None:
    raw = _pick(row, key)
    if raw == "":
        return None
    try:
        return int(Decimal(raw))
    except ArithmeticError as exc:
        raise RecordError(key, f"“{raw}”不是数字") from exc


def _date(row: dict[str, str], key: str) -> date | None:
    raw = _pick(row, key)[:10]
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.replace("/", "-"))
    except ValueError as exc:
        raise RecordError(key, f"“{raw}”不是 YYYY-MM-DD 日期") from exc


def _fen(raw: str) -> int | None:
    if raw == "":
        return None
    try:
        value = Decimal(raw.replace(",", ""))
    except ArithmeticError as exc:
        raise RecordError("total_cost", f"“{raw}”不是金额") from exc
    return int((value * 100).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def record_from_row(row: dict[str, str]) -> DischargeRecord:
    """Build a record from one 病案首页 row (codes separated by ``|``, first diagnosis principal)."""
    sex_raw = _pick(row, "sex")
    if sex_raw not in _SEX_WORDS:
        raise RecordError("sex", f"性别“{sex_raw}”无法识别")
    dx = split_codes(_pick(row, "diagnoses"))
    if not dx:
        raise RecordError("diagnoses", "缺少主要诊断")
    return make_record(
        principal_dx=dx[0],
        other_dx=dx[1:],
        procedures=split_codes(_pick(row, "procedures")),
        sex=_SEX_WORDS[sex_raw],
        age_years=_int(row, "age_years"),
        age_days=_int(row, "age_days"),
        birth_weight_g=_int(row, "birth_weight_g") or None,
        admission_date=_date(row, "admission_date"),
        discharge_date=_date(row, "discharge_date"),
        los_days=_int(row, "los_days"),
        disposition=_pick(row, "disposition"),
        ventilation_hours=_int(row, "ventilation_hours"),
        department=_pick(row, "department"),
        total_cost_fen=_fen(_pick(row, "total_cost")),
    )


def row_meta(row: dict[str, str]) -> tuple[str, str]:
    """(record number, doctor) of a row."""
    return _pick(row, "record_no"), _pick(row, "doctor")


#: the columns ``yilian drg group`` (and the grouping on Spark) add to each input row
OUT_COLUMNS = (
    "group_mdc",
    "group_adrg",
    "group_drg",
    "group_status",
    "group_explanation",
    "principal_dx_name",
    "principal_procedure_name",
    "unknown_codes",
)


def group_row(g: Grouper, row: dict[str, str]) -> dict[str, str]:
    """The :data:`OUT_COLUMNS` of one 病案首页 row; a row that cannot be read gets status ``error``."""
    try:
        rec = record_from_row(row)
        res = g.group(rec)
    except RecordError as exc:
        extra = dict.fromkeys(OUT_COLUMNS, "")
        extra["group_status"] = "error"
        extra["group_explanation"] = f"{exc.field_name}: {exc.message}"
        return extra
    pproc = res.principal_procedure
    return {
        "group_mdc": res.mdc or "",
        "group_adrg": res.adrg or "",
        "group_drg": res.drg,
        "group_status": res.status,
        "group_explanation": res.explanation,
        "principal_dx_name": g.names.get(rec.principal_dx, ""),
        "principal_procedure_name": g.names.get(pproc, "") if pproc else "",
        "unknown_codes": "|".join(res.unknown),
    }


# ---------------------------------------------------------------------- (de)serialising conditions

_SET_FIELDS = ("principal_dx", "principal_procedure", "any_dx")
_SCALAR_FIELDS = (
    "any_or_procedure",
    "no_procedure",
    "min_age_days",
    "max_age_days",
    "min_weight_g",
    "max_weight_g",
)


def condition_to_dict(c: Condition) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in _SET_FIELDS:
        value = getattr(c, name)
        if value is not None:
            out[name] = sorted(value)
    if c.all_procedures:
        out["all_procedures"] = [sorted(t) for t in c.all_procedures]
    for name in _SCALAR_FIELDS:
        value = getattr(c, name)
        if value not in (None, False):
            out[name] = value
    return out


def condition_from_dict(d: dict[str, object]) -> Condition:
    kwargs: dict[str, object] = {}
    for name in _SET_FIELDS:
        if name in d:
            kwargs[name] = frozenset(d[name])  # type: ignore[call-overload]
    if "all_procedures" in d:
        kwargs["all_procedures"] = tuple(frozenset(t) for t in d["all_procedures"])  # type: ignore[attr-defined]
    for name in _SCALAR_FIELDS:
        if name in d:
            kwargs[name] = d[name]
    return Condition(**kwargs)  # type: ignore[arg-type]
