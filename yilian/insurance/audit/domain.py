"""Smart insurance audit (医保智能审核), pure: claim lines, the rule library and the per-claim engine.

A rule library is data (YAML plus CSV price lists, see ``rules/``). Every rule has an id, a family,
a Chinese description, parameters, a severity (明确违规 / 可疑), the stages where it applies
(事前 pre / 事中 in / 事后 post) and effective dates. A line is visible to a rule when its service
date lies in the rule's effective window (claim-level rules use the admission date).

The meaning of every family is defined here by :class:`ClaimEngine`; ``batch.py`` compiles the same
meaning to vectorised DuckDB SQL and a property test proves both give identical findings.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from yilian.kit.money import yuan


class Family(StrEnum):
    SEX = "sex"
    AGE = "age"
    INDICATION = "indication"
    LEVEL = "level"
    SCHEME = "scheme"
    SETTING = "setting"
    QUANTITY = "quantity"
    DUPLICATE = "duplicate"
    INCLUDED = "included"
    EXCLUSIVE = "exclusive"
    COMPANION = "companion"
    PRICE = "price"
    READMISSION = "readmission"
    STAY = "stay"


FAMILY_LABELS = {
    Family.SEX: "限性别",
    Family.AGE: "限年龄/儿童",
    Family.INDICATION: "限适应症（诊断）",
    Family.LEVEL: "限医疗机构等级",
    Family.SCHEME: "限参保险种",
    Family.SETTING: "限就医方式（门诊/住院）",
    Family.QUANTITY: "超数量/频次",
    Family.DUPLICATE: "重复收费",
    Family.INCLUDED: "主项目包含子项目重复收费",
    Family.EXCLUSIVE: "互斥项目",
    Family.COMPANION: "关联项目缺失",
    Family.PRICE: "超标准价格",
    Family.READMISSION: "分解住院",
    Family.STAY: "超住院天数",
}

LINE_FAMILIES = frozenset(
    {Family.SEX, Family.AGE, Family.INDICATION, Family.LEVEL, Family.SCHEME, Family.SETTING, Family.PRICE}
)
CLAIM_FAMILIES = frozenset({Family.READMISSION, Family.STAY})


class Severity(StrEnum):
    VIOLATION = "violation"  # 明确违规
    SUSPECT = "suspect"  # 可疑


SEVERITY_LABELS = {Severity.VIOLATION: "明确违规", Severity.SUSPECT: "可疑"}


class Stage(StrEnum):
    PRE = "pre"  # 事前
    IN = "in"  # 事中
    POST = "post"  # 事后


STAGE_LABELS = {Stage.PRE: "事前", Stage.IN: "事中", Stage.POST: "事后"}
SEXES = ("M", "F")
SCHEMES = ("employee", "resident", "self_pay")
SETTINGS = ("outpatient", "inpatient")
SEX_LABELS = {"M": "男", "F": "女"}
SCHEME_LABELS = {"employee": "职工医保", "resident": "居民医保", "self_pay": "自费"}
SETTING_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
PER_VALUES = ("day", "visit", "stay")
PER_LABELS = {"day": "日", "visit": "次就诊", "stay": "次住院"}
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9999, 12, 31)


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One line of a claim (one visit's bill or one stay's bill); claim fields repeat on every line."""

    line_id: int
    claim_id: str
    patient_id: str
    sex: str  # M | F
    age: int
    scheme: str  # employee | resident | self_pay
    level: int  # institution level 1..3
    setting: str  # outpatient | inpatient
    diagnosis: str  # principal diagnosis, ICD-10
    admit_date: date
    discharge_date: date
    service_date: date
    item_code: str
    quantity: int
    unit_price: int  # fen
    amount: int  # fen
    department: str = ""  # department code (科室编码) that billed the line; empty when unknown


LINE_COLUMNS = tuple(ClaimLine.__dataclass_fields__)
OPTIONAL_COLUMNS = frozenset({"department"})  # claim files may leave these out (older layouts)


def may_appeal(finding_departments: Iterable[str], own_departments: Iterable[str] | None) -> bool:
    """Tell whether an appealer of ``own_departments`` may appeal (科室申诉) a finding whose lines were
    billed by ``finding_departments``. Lines without a department (older files) bind nobody; ``None``
    stands for the insurance office, which records the appeals of every department."""
    concerned = {d for d in finding_departments if d}
    if not concerned or own_departments is None:
        return True
    return not concerned.isdisjoint(own_departments)


@dataclass(frozen=True)
class Rule:
    """One rule of the library; ``params`` depend on the family (see ``validate_rule``)."""

    id: str
    family: Family
    description: str
    severity: Severity
    stages: frozenset[Stage]
    effective_from: date = MIN_DATE
    effective_to: date = MAX_DATE
    params: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0  # line in the library file, for messages

    def active(self, on: date) -> bool:
        return self.effective_from <= on <= self.effective_to

    def items(self) -> frozenset[str]:
        """Every item code the rule looks at (empty for claim-level families)."""
        p = self.params
        if self.family == Family.PRICE:
            return frozenset(p["prices"])
        if self.family == Family.INCLUDED:
            return frozenset(p["main"]) | frozenset(p["sub"])
        if self.family == Family.EXCLUSIVE:
            return frozenset(p["a"]) | frozenset(p["b"])
        if self.family in CLAIM_FAMILIES:
            return frozenset()
        return frozenset(p["items"])


@dataclass(frozen=True, order=True)
class Finding:
    """One violation: the claim it belongs to, the lines and related claims involved, the amount."""

    rule_id: str
    claim_id: str
    lines: tuple[int, ...]
    related: tuple[str, ...]
    amount: int  # fen
    value: str  # the observed value that breaks the rule


@dataclass(frozen=True)
class RuleIssue:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RuleLibraryError(ValueError):
    def __init__(self, issues: Sequence[RuleIssue]) -> None:
        super().__init__("; ".join(str(i) for i in issues))
        self.issues = list(issues)


@dataclass(frozen=True)
class RuleLibrary:
    version: str
    name: str
    rules: tuple[Rule, ...]

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def for_stage(self, stage: Stage | None) -> RuleLibrary:
        if stage is None:
            return self
        return RuleLibrary(self.version, self.name, tuple(r for r in self.rules if stage in r.stages))


# ---------------------------------------------------------------------------------------------------
# Parsing and validation


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _int(value: Any, low: int = 0) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        return None
    return value


def read_price_csv(text: str, *, line_base: int = 0) -> tuple[dict[str, int], list[RuleIssue]]:
    """Read ``item_code,item_name,price_fen`` rows; returns prices and issues by line."""
    prices: dict[str, int] = {}
    issues: list[RuleIssue] = []
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"item_code", "price_fen"} <= set(reader.fieldnames):
        return prices, [RuleIssue(line_base + 1, "价格表缺少 item_code 或 price_fen 列")]
    for number, row in enumerate(reader, start=2):
        code = (row.get("item_code") or "").strip()
        raw = (row.get("price_fen") or "").strip()
        if not code:
            issues.append(RuleIssue(line_base + number, "项目编码为空"))
            continue
        if not raw.isdigit():
            issues.append(RuleIssue(line_base + number, f"{code} 的价格 {raw!r} 不是非负整数（分）"))
            continue
        if code in prices:
            issues.append(RuleIssue(line_base + number, f"项目 {code} 重复"))
            continue
        prices[code] = int(raw)
    return prices, issues


def validate_rule(
    raw: Mapping[str, Any], line: int, base: Path | None, key_lines: Mapping[str, int] | None = None
) -> tuple[Rule | None, list[RuleIssue]]:
    """Turn one mapping of the YAML into a rule, or say by line what is wrong with it.

    ``key_lines`` gives the line of each key of the rule (and of each key inside ``params``, as
    ``params.<key>``); messages point at the most precise line known."""
    issues: list[RuleIssue] = []
    lines_of = key_lines or {}

    def bad(message: str, key: str = "params") -> None:
        found = re.search(r"参数 (\w+)", message)
        where = lines_of.get(f"params.{found.group(1)}") if found else None
        issues.append(RuleIssue(where or lines_of.get(key, line), message))

    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        bad("缺少规则编号 id", "id")
        rule_id = "?"
    try:
        family = Family(str(raw.get("family")))
    except ValueError:
        bad(
            f"{rule_id}: 未知的规则类别 family={raw.get('family')!r}"
            f"（可选 {', '.join(f.value for f in Family)}）",
            "family",
        )
        return None, issues
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        bad(f"{rule_id}: 缺少中文说明 description", "description")
    try:
        severity = Severity(raw.get("severity", "violation"))
    except ValueError:
        bad(f"{rule_id}: severity 应为 violation（明确违规）或 suspect（可疑）", "severity")
        severity = Severity.VIOLATION
    stages_raw = _str_list(raw.get("stages", ["pre", "in", "post"]))
    stages: set[Stage] = set()
    for s in stages_raw or ["?"]:
        try:
            stages.add(Stage(s))
        except ValueError:
            bad(f"{rule_id}: 阶段 {s!r} 无效（pre 事前 / in 事中 / post 事后）", "stages")
    eff_from = _date(raw.get("effective_from", MIN_DATE))
    eff_to = _date(raw.get("effective_to", MAX_DATE))
    if eff_from is None or eff_to is None:
        bad(f"{rule_id}: 生效日期应为 YYYY-MM-DD", "effective_from")
    elif eff_from > eff_to:
        bad(f"{rule_id}: 生效起始日期晚于终止日期", "effective_from")
    p = raw.get("params") or {}
    if not isinstance(p, dict):
        bad(f"{rule_id}: params 应为映射")
        p = {}
    params: dict[str, Any] = {}

    def items(key: str) -> list[str]:
        value = _str_list(p.get(key))
        if value is None:
            bad(f"{rule_id}: 参数 {key} 应为非空的项目编码列表")
            return []
        if len(set(value)) != len(value):
            bad(f"{rule_id}: 参数 {key} 中有重复项目")
        return sorted(set(value))

    def integer(key: str, low: int = 0, default: int | None = None) -> int:
        value = _int(p.get(key, default), low)
        if value is None:
            bad(f"{rule_id}: 参数 {key} 应为不小于 {low} 的整数")
            return low
        return value

    if family not in CLAIM_FAMILIES and family not in (Family.PRICE, Family.INCLUDED, Family.EXCLUSIVE):
        params["items"] = items("items")
    if family == Family.SEX:
        if p.get("sex") not in SEXES:
            bad(f"{rule_id}: 参数 sex 应为 M 或 F")
        params["sex"] = p.get("sex")
    elif family == Family.AGE:
        params["min_age"] = integer("min_age", 0, 0)
        params["max_age"] = integer("max_age", 0, 150)
        if params["min_age"] > params["max_age"]:
            bad(f"{rule_id}: min_age 大于 max_age")
    elif family in (Family.INDICATION, Family.STAY) and (family == Family.INDICATION or "prefixes" in p):
        prefixes = _str_list(p.get("prefixes"))
        if prefixes is None:
            bad(f"{rule_id}: 参数 prefixes 应为非空的诊断编码前缀列表")
        params["prefixes"] = sorted(set(prefixes or []))
    if family == Family.STAY:
        params.setdefault("prefixes", [])
        params["max_days"] = integer("max_days", 1)
    elif family == Family.LEVEL:
        params["min_level"] = integer("min_level", 1)
        if params["min_level"] > 3:
            bad(f"{rule_id}: min_level 应为 1-3")
    elif family in (Family.SCHEME, Family.SETTING):
        key, allowed = ("schemes", SCHEMES) if family == Family.SCHEME else ("settings", SETTINGS)
        values = _str_list(p.get(key))
        if values is None or not set(values) <= set(allowed):
            bad(f"{rule_id}: 参数 {key} 应取自 {', '.join(allowed)}")
        params[key] = sorted(set(values or []))
    elif family == Family.QUANTITY:
        if p.get("per") not in PER_VALUES:
            bad(f"{rule_id}: 参数 per 应为 day（每日）、visit（每次就诊）或 stay（每次住院）")
        params["per"] = p.get("per")
        params["max"] = integer("max", 1)
    elif family == Family.DUPLICATE:
        params["period_days"] = integer("period_days", 1, 1)
    elif family == Family.INCLUDED:
        params["main"], params["sub"] = items("main"), items("sub")
        if set(params["main"]) & set(params["sub"]):
            bad(f"{rule_id}: 主项目与子项目不能相同")
    elif family == Family.EXCLUSIVE:
        params["a"], params["b"] = items("a"), items("b")
        if set(params["a"]) & set(params["b"]):
            bad(f"{rule_id}: 互斥两组项目不能重叠")
    elif family == Family.COMPANION:
        params["requires"] = items("requires")
    elif family == Family.PRICE:
        prices: dict[str, int] = {}
        if "file" in p:
            if base is None:
                bad(f"{rule_id}: 无法读取价格表文件 {p['file']}")
            else:
                path = base / str(p["file"])
                if not path.is_file():
                    bad(f"{rule_id}: 价格表文件 {p['file']} 不存在")
                else:
                    read, csv_issues = read_price_csv(path.read_text(encoding="utf-8"))
                    prices.update(read)
                    issues.extend(RuleIssue(i.line, f"{p['file']}: {i.message}") for i in csv_issues)
        inline = p.get("prices", {})
        if not isinstance(inline, dict) or not all(_int(v) is not None for v in inline.values()):
            bad(f"{rule_id}: 参数 prices 应为 项目编码: 价格（分）")
        else:
            prices.update({str(k): int(v) for k, v in inline.items()})
        if not prices:
            bad(f"{rule_id}: 价格规则没有任何项目")
        params["prices"] = prices
    elif family == Family.READMISSION:
        params["days"] = integer("days", 0, 15)
        params["match_chars"] = integer("match_chars", 1, 3)
    if issues:
        return None, issues
    return (
        Rule(
            id=rule_id,
            family=family,
            description=str(description),
            severity=severity,
            stages=frozenset(stages),
            effective_from=eff_from or MIN_DATE,
            effective_to=eff_to or MAX_DATE,
            params=params,
            line=line,
        ),
        issues,
    )


def parse_library(text: str, base: Path | None = None) -> tuple[RuleLibrary | None, list[RuleIssue]]:
    """Parse a YAML library; returns the library (None when anything is wrong) and every issue by line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [RuleIssue((mark.line + 1) if mark else 1, f"YAML 语法错误: {exc}")]
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        return None, [RuleIssue(1, "规则库应为包含 version 与 rules 的映射")]
    issues: list[RuleIssue] = []
    version = data.get("version")
    if not isinstance(version, (str, int, float)) or not str(version).strip():
        issues.append(RuleIssue(1, "缺少规则库版本 version"))
    rules_node = next((v for k, v in root.value if k.value == "rules"), None)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not isinstance(rules_node, yaml.SequenceNode):
        return None, issues + [RuleIssue(1, "缺少规则列表 rules")]
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for raw, node in zip(raw_rules, rules_node.value, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict):
            issues.append(RuleIssue(line, "每条规则应为映射"))
            continue
        rule, rule_issues = validate_rule(raw, line, base, _key_lines(node))
        issues.extend(rule_issues)
        if rule is None:
            continue
        if rule.id in seen:
            issues.append(RuleIssue(line, f"规则编号 {rule.id} 与第 {seen[rule.id]} 行重复"))
            continue
        seen[rule.id] = line
        rules.append(rule)
    if issues:
        return None, sorted(issues, key=lambda i: i.line)
    return RuleLibrary(str(version), str(data.get("name", "")), tuple(rules)), []


def _key_lines(node: yaml.Node) -> dict[str, int]:
    """Line of every key of a rule mapping node, and ``params.<key>`` for the keys inside params."""
    out: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key, value in node.value:
        name = str(key.value)
        out[name] = key.start_mark.line + 1
        if name == "params" and isinstance(value, yaml.MappingNode):
            for pkey, _pvalue in value.value:
                out[f"params.{pkey.value}"] = pkey.start_mark.line + 1
    return out


def load_library(path: Path) -> RuleLibrary:
    library, issues = parse_library(path.read_text(encoding="utf-8"), path.parent)
    if library is None:
        raise RuleLibraryError(issues)
    return library


DEFAULT_LIBRARY = Path(__file__).parent / "rules" / "library.yaml"


def default_library() -> RuleLibrary:
    return load_library(DEFAULT_LIBRARY)


# ---------------------------------------------------------------------------------------------------
# The per-claim engine


def _starts(diagnosis: str, prefixes: Sequence[str]) -> bool:
    return any(diagnosis.startswith(p) for p in prefixes)


class ClaimEngine:
    """Rules pre-indexed by item code; evaluates one claim (with the patient's history) at a time."""

    def __init__(self, library: RuleLibrary, stage: Stage | None = None) -> None:
        self.library = library.for_stage(stage)
        self.rules = self.library.by_id()
        self.by_item: dict[str, list[Rule]] = defaultdict(list)
        self.claim_rules: list[Rule] = []
        for rule in self.library.rules:
            if rule.family in CLAIM_FAMILIES:
                self.claim_rules.append(rule)
            for code in rule.items():
                self.by_item[code].append(rule)

    def check(self, lines: Sequence[ClaimLine], history: Iterable[ClaimLine] = ()) -> list[Finding]:
        """Findings of the claim made of ``lines`` (all of one claim); ``history`` is the patient's
        other lines (for duplicates across claims and readmission)."""
        if not lines:
            return []
        claim = lines[0]
        findings: list[Finding] = []
        touched: dict[str, Rule] = {}
        for line in lines:
            for rule in self.by_item.get(line.item_code, ()):
                if rule.family in LINE_FAMILIES:
                    if rule.active(line.service_date):
                        found = _line_finding(rule, line)
                        if found is not None:
                            findings.append(found)
                else:
                    touched[rule.id] = rule
        past = [h for h in history if h.claim_id != claim.claim_id and h.patient_id == claim.patient_id]
        for rule in touched.values():
            findings.extend(_group_findings(rule, lines, past))
        if claim.setting == "inpatient" and self.claim_rules:
            findings.extend(self._claim_findings(lines, past))
        return sorted(findings)

    def check_many(self, lines: Iterable[ClaimLine]) -> list[Finding]:
        """Findings of every claim in ``lines`` (naive reference: each claim checked on its own)."""
        by_patient: dict[str, list[ClaimLine]] = defaultdict(list)
        for line in lines:
            by_patient[line.patient_id].append(line)
        out: list[Finding] = []
        for patient_lines in by_patient.values():
            claims: dict[str, list[ClaimLine]] = defaultdict(list)
            for line in patient_lines:
                claims[line.claim_id].append(line)
            for claim_lines in claims.values():
                out.extend(self.check(claim_lines, patient_lines))
        return sorted(out)

    def _claim_findings(self, lines: Sequence[ClaimLine], past: Sequence[ClaimLine]) -> list[Finding]:
        claim = lines[0]
        total = sum(line.amount for line in lines)
        out = []
        stay_days = (claim.discharge_date - claim.admit_date).days
        prior: dict[str, ClaimLine] = {}
        for h in past:
            if h.setting == "inpatient":
                prior.setdefault(h.claim_id, h)
        for rule in self.claim_rules:
            if not rule.active(claim.admit_date):
                continue
            p = rule.params
            if rule.family == Family.STAY:
                if stay_days > p["max_days"] and (
                    not p["prefixes"] or _starts(claim.diagnosis, p["prefixes"])
                ):
                    out.append(Finding(rule.id, claim.claim_id, (), (), 0, str(stay_days)))
            else:
                n = p["match_chars"]
                gaps = {
                    a.claim_id: (claim.admit_date - a.discharge_date).days
                    for a in prior.values()
                    if 0 <= (claim.admit_date - a.discharge_date).days <= p["days"]
                    and a.diagnosis[:n] == claim.diagnosis[:n]
                }
                if gaps:
                    out.append(
                        Finding(
                            rule.id, claim.claim_id, (), tuple(sorted(gaps)), total, str(min(gaps.values()))
                        )
                    )
        return out


def _line_finding(rule: Rule, line: ClaimLine) -> Finding | None:
    p = rule.params
    f = rule.family
    value: str | None = None
    amount = line.amount
    if f == Family.SEX:
        value = line.sex if line.sex != p["sex"] else None
    elif f == Family.AGE:
        value = str(line.age) if line.age < p["min_age"] or line.age > p["max_age"] else None
    elif f == Family.INDICATION:
        value = line.diagnosis if not _starts(line.diagnosis, p["prefixes"]) else None
    elif f == Family.LEVEL:
        value = str(line.level) if line.level < p["min_level"] else None
    elif f == Family.SCHEME:
        value = line.scheme if line.scheme not in p["schemes"] else None
    elif f == Family.SETTING:
        value = line.setting if line.setting not in p["settings"] else None
    elif f == Family.PRICE:
        price = p["prices"][line.item_code]
        if line.unit_price > price:
            value = str(line.unit_price)
            amount = (line.unit_price - price) * line.quantity
    if value is None:
        return None
    return Finding(rule.id, line.claim_id, (line.line_id,), (), amount, value)


def _group_findings(rule: Rule, lines: Sequence[ClaimLine], past: Sequence[ClaimLine]) -> list[Finding]:
    p = rule.params
    f = rule.family
    claim_id = lines[0].claim_id
    out: list[Finding] = []
    if f == Family.QUANTITY:
        codes = set(p["items"])
        groups: dict[date | None, list[ClaimLine]] = defaultdict(list)
        for line in lines:
            if line.item_code in codes and rule.active(line.service_date):
                groups[line.service_date if p["per"] == "day" else None].append(line)
        for group in groups.values():
            qty = sum(line.quantity for line in group)
            if qty > p["max"]:
                amount = sum(line.amount for line in group) * (qty - p["max"]) // qty
                out.append(
                    Finding(rule.id, claim_id, tuple(sorted(x.line_id for x in group)), (), amount, str(qty))
                )
    elif f == Family.DUPLICATE:
        codes = set(p["items"])
        by_item: dict[str, list[ClaimLine]] = defaultdict(list)
        for line in (*past, *lines):
            if line.item_code in codes and rule.active(line.service_date):
                by_item[line.item_code].append(line)
        for seq in by_item.values():
            seq.sort(key=lambda x: (x.service_date, x.line_id))
            for prev, cur in zip(seq, seq[1:], strict=False):
                gap = (cur.service_date - prev.service_date).days
                if cur.claim_id == claim_id and gap < p["period_days"]:
                    pair = tuple(sorted((prev.line_id, cur.line_id)))
                    out.append(Finding(rule.id, claim_id, pair, (), cur.amount, str(gap)))
    elif f == Family.INCLUDED:
        main, sub = set(p["main"]), set(p["sub"])
        mains: dict[date, list[int]] = defaultdict(list)
        for line in lines:
            if line.item_code in main and rule.active(line.service_date):
                mains[line.service_date].append(line.line_id)
        for line in lines:
            if line.item_code in sub and rule.active(line.service_date) and line.service_date in mains:
                ids = tuple(sorted([line.line_id, *mains[line.service_date]]))
                out.append(Finding(rule.id, claim_id, ids, (), line.amount, line.item_code))
    elif f == Family.EXCLUSIVE:
        a, b = set(p["a"]), set(p["b"])
        days: dict[date, list[ClaimLine]] = defaultdict(list)
        for line in lines:
            if (line.item_code in a or line.item_code in b) and rule.active(line.service_date):
                days[line.service_date].append(line)
        for group in days.values():
            b_lines = [x for x in group if x.item_code in b]
            if b_lines and len(b_lines) < len(group):
                ids = tuple(sorted(x.line_id for x in group))
                out.append(
                    Finding(rule.id, claim_id, ids, (), sum(x.amount for x in b_lines), str(len(group)))
                )
    elif f == Family.COMPANION:
        needs, requires = set(p["items"]), set(p["requires"])
        if not any(line.item_code in requires for line in lines):
            for line in lines:
                if line.item_code in needs and rule.active(line.service_date):
                    out.append(Finding(rule.id, claim_id, (line.line_id,), (), line.amount, line.item_code))
    return out


def value_label(family: Family | str, value: str) -> str:
    """A finding's observed value as a person reads it (险种, 就医方式 and sex in Chinese; prices in yuan)."""
    labels = {Family.SEX: SEX_LABELS, Family.SCHEME: SCHEME_LABELS, Family.SETTING: SETTING_LABELS}
    if family == Family.PRICE and value.lstrip("-").isdigit():
        return yuan(int(value))
    return labels.get(Family(family), {}).get(value, value) if family in tuple(Family) else value


def describe(rule: Rule, finding: Finding) -> str:
    """The violation text (违规内容) of a finding, in Chinese."""
    p = rule.params
    v = value_label(rule.family, finding.value or "")
    f = rule.family

    def each(labels: dict[str, str], key: str) -> str:
        return "/".join(labels.get(x, x) for x in p.get(key, []))

    texts = {
        Family.SEX: f"限{SEX_LABELS.get(p.get('sex', ''), '')}性使用，患者性别为{v}",
        Family.AGE: f"限 {p.get('min_age')}-{p.get('max_age')} 岁使用，患者 {v} 岁",
        Family.INDICATION: f"限诊断 {'/'.join(p.get('prefixes', []))} 使用，主要诊断为 {v}",
        Family.LEVEL: f"限 {p.get('min_level')} 级及以上医疗机构使用，本机构为 {v} 级",
        Family.SCHEME: f"限参保险种 {each(SCHEME_LABELS, 'schemes')}，患者险种为 {v}",
        Family.SETTING: f"限 {each(SETTING_LABELS, 'settings')} 使用，本次为 {v}",
        Family.QUANTITY: f"每{PER_LABELS.get(str(p.get('per')), '')}限 {p.get('max')}，实际 {v}",
        Family.DUPLICATE: f"{p.get('period_days')} 日内重复收费（间隔 {v} 日）",
        Family.INCLUDED: f"主项目已包含子项目 {v}，不得另行收费",
        Family.EXCLUSIVE: f"同日收取互斥项目（{v} 条）",
        Family.COMPANION: f"项目 {v} 缺少必需的关联项目 {'/'.join(p.get('requires', []))}",
        Family.PRICE: f"单价 {v} 高于目录价格",
        Family.READMISSION: f"出院 {v} 日内以相同主要诊断再次住院（分解住院）",
        Family.STAY: f"住院 {v} 日，超过 {p.get('max_days')} 日上限",
    }
    return f"{rule.description}：{texts[f]}"
