"""Synthetic claims (模拟结算数据) with violations injected at known positions.

Clean base lines are generated set-based in DuckDB (millions per second): items that only the price
rule covers, billed at the catalogue price, at most one inpatient stay per patient and stays shorter
than every stay limit, so the base is compliant with the library. Then, for every rule of the
library, a small claim breaking exactly that rule is appended; the truth is the set of
``(rule_id, claim_id)`` pairs injected. Precision and recall of an audit are measured against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb

from yilian.insurance.audit.domain import (
    SCHEMES,
    SETTINGS,
    ClaimLine,
    Family,
    Finding,
    Rule,
    RuleLibrary,
)

BASE_DATE = date(2026, 1, 1)
# department codes (科室编码) of the lines: the demo general hospital's 心血管内科 呼吸 消化 普外 儿科
DEPARTMENTS = ("NK01", "NK02", "NK03", "WK01", "EK01")
# ICD-10 医保版 codes that CHS-DRG 1.1 groups (each is in an MDC principal-diagnosis table)
DIAGNOSES = (
    "J06.900",
    "K29.700",
    "I10.x00x002",
    "E11.900",
    "M54.500",
    "J20.900",
    "N39.000",
    "R51.x00",
    "K35.800x001",
    "I25.103",
)
#: a full 医保版 code under a rule's diagnosis prefix (the stay rule's K35 is 急性阑尾炎)
UNDER_PREFIX = {"K35": "K35.800x001"}
HEALTH_CHECK = "Z00.001"  # 健康查体


@dataclass(frozen=True)
class Truth:
    pairs: frozenset[tuple[str, str]]  # (rule_id, claim_id)


def base_items(library: RuleLibrary) -> dict[str, int]:
    """Items (with their catalogue price) that only the price rule looks at."""
    prices: dict[str, int] = {}
    others: set[str] = set()
    for rule in library.rules:
        if rule.family == Family.PRICE:
            prices.update(rule.params["prices"])
        else:
            others |= rule.items()
    return {code: price for code, price in sorted(prices.items()) if code not in others}


def create_base_table(
    con: duckdb.DuckDBPyConnection,
    library: RuleLibrary,
    n_lines: int,
    *,
    seed: int = 1,
    table: str = "claim_lines",
) -> None:
    """Create ``table`` with ``n_lines`` clean lines (8 lines a claim, 3 claims a patient)."""
    items = base_items(library)
    if not items:
        raise ValueError("规则库的价格表中没有可用于模拟的普通项目")
    stay_limits = [r.params["max_days"] for r in library.rules if r.family == Family.STAY]
    max_stay = max(1, min([*stay_limits, 11]) - 1)
    codes = list(items)
    prices = [items[c] for c in codes]
    con.sql(
        f"""
CREATE OR REPLACE TABLE {table} AS
WITH base AS (
  SELECT i AS line_id, i // 8 AS claim_no, (i // 8) // 3 AS patient_no, i % 8 AS line_no,
    hash(i + {seed}) AS h, hash((i // 8) + {seed} * 7) AS hc, hash((i // 24) + {seed} * 13) AS hp
  FROM range({n_lines}) t(i)
), c AS (
  SELECT *, claim_no % 30 = 0 AS inpatient, CAST(hc % {max_stay} + 1 AS INTEGER) AS stay,
    DATE '{BASE_DATE.isoformat()}' + CAST((claim_no * 7) % 300 AS INTEGER) AS admit
  FROM base
)
SELECT line_id, 'C' || claim_no AS claim_id, 'P' || patient_no AS patient_id,
  CASE WHEN hp % 2 = 0 THEN 'M' ELSE 'F' END AS sex, CAST(hp % 90 AS INTEGER) AS age,
  list_element({list(SCHEMES)!r}, CAST(hp % 3 + 1 AS INTEGER)) AS scheme,
  CAST(hc % 3 + 1 AS INTEGER) AS level,
  CASE WHEN inpatient THEN 'inpatient' ELSE 'outpatient' END AS setting,
  list_element({list(DIAGNOSES)!r}, CAST(hc % {len(DIAGNOSES)} + 1 AS INTEGER)) AS diagnosis,
  admit AS admit_date, CASE WHEN inpatient THEN admit + stay ELSE admit END AS discharge_date,
  CASE WHEN inpatient THEN admit + CAST(line_no % (stay + 1) AS INTEGER) ELSE admit END AS service_date,
  list_element({codes!r}, CAST(h % {len(codes)} + 1 AS INTEGER)) AS item_code,
  CAST(h % 3 + 1 AS INTEGER) AS quantity,
  list_element({prices!r}, CAST(h % {len(codes)} + 1 AS INTEGER)) AS unit_price,
  CAST(quantity AS BIGINT) * unit_price AS amount,
  list_element({list(DEPARTMENTS)!r}, CAST(hc % {len(DEPARTMENTS)} + 1 AS INTEGER)) AS department
FROM c
"""
    )
    con.sql(f"ALTER TABLE {table} ALTER unit_price TYPE BIGINT; ALTER TABLE {table} ALTER amount TYPE BIGINT")


def _catalogue(library: RuleLibrary) -> dict[str, int]:
    prices: dict[str, int] = {}
    for rule in library.rules:
        if rule.family == Family.PRICE:
            prices.update(rule.params["prices"])
    return prices


def injected(library: RuleLibrary, *, start_line_id: int, copies: int = 1) -> tuple[list[ClaimLine], Truth]:
    """One violating claim per rule (``copies`` times); every claim has its own patient."""
    prices = _catalogue(library)
    lines: list[ClaimLine] = []
    truth: set[tuple[str, str]] = set()
    next_id = start_line_id
    for copy in range(copies):
        for n, rule in enumerate(library.rules):
            tag = f"X{copy}-{n}"
            made = _violation(rule, tag, prices)
            fixed = []
            for line in made:
                fixed.append(replace(line, line_id=next_id, department=DEPARTMENTS[n % len(DEPARTMENTS)]))
                next_id += 1
            lines.extend(fixed)
            truth.add((rule.id, _finding_claim(rule, fixed)))
    return lines, Truth(frozenset(truth))


def _finding_claim(rule: Rule, lines: list[ClaimLine]) -> str:
    return lines[-1].claim_id


def _line(tag: str, item: str, prices: dict[str, int], **kw: object) -> ClaimLine:
    day = kw.pop("day", BASE_DATE + timedelta(days=100))
    assert isinstance(day, date)
    qty = kw.pop("quantity", 1)
    assert isinstance(qty, int)
    unit = kw.pop("unit_price", prices.get(item, 1000))
    assert isinstance(unit, int)
    fields: dict[str, object] = {
        "line_id": 0,
        "claim_id": f"{tag}",
        "patient_id": f"P{tag}",
        "sex": "F",
        "age": 40,
        "scheme": "employee",
        "level": 3,
        "setting": "outpatient",
        "diagnosis": HEALTH_CHECK,
        "admit_date": day,
        "discharge_date": day,
        "service_date": day,
        "item_code": item,
        "quantity": qty,
        "unit_price": unit,
        "amount": qty * unit,
    }
    fields.update(kw)
    return ClaimLine(**fields)  # type: ignore[arg-type]


def _violation(rule: Rule, tag: str, prices: dict[str, int]) -> list[ClaimLine]:
    p = rule.params
    f = rule.family
    day = max(rule.effective_from, BASE_DATE + timedelta(days=100))
    d = {"day": day, "admit_date": day, "discharge_date": day}
    first = sorted(rule.items())[0] if rule.items() else ""
    if f == Family.SEX:
        return [_line(tag, p["items"][0], prices, sex="F" if p["sex"] == "M" else "M", **d)]
    if f == Family.AGE:
        age = p["max_age"] + 1 if p["max_age"] < 150 else p["min_age"] - 1
        return [_line(tag, p["items"][0], prices, age=age, **d)]
    if f == Family.INDICATION:
        return [_line(tag, p["items"][0], prices, diagnosis=HEALTH_CHECK, **d)]
    if f == Family.LEVEL:
        return [_line(tag, p["items"][0], prices, level=p["min_level"] - 1, **d)]
    if f == Family.SCHEME:
        other = next(s for s in SCHEMES if s not in p["schemes"])
        return [_line(tag, p["items"][0], prices, scheme=other, **d)]
    if f == Family.SETTING:
        other = next(s for s in SETTINGS if s not in p["settings"])
        return [_line(tag, p["items"][0], prices, setting=other, **d)]
    if f == Family.PRICE:
        code = first
        return [_line(tag, code, prices, unit_price=p["prices"][code] + 100, **d)]
    if f == Family.QUANTITY:
        return [_line(tag, p["items"][0], prices, quantity=p["max"] + 1, **d)]
    if f == Family.DUPLICATE:
        later = day + timedelta(days=p["period_days"] - 1)
        return [
            _line(tag, p["items"][0], prices, **d),
            _line(tag, p["items"][0], prices, day=later, admit_date=day, discharge_date=later),
        ]
    if f == Family.INCLUDED:
        return [_line(tag, p["main"][0], prices, **d), _line(tag, p["sub"][0], prices, **d)]
    if f == Family.EXCLUSIVE:
        return [_line(tag, p["a"][0], prices, **d), _line(tag, p["b"][0], prices, **d)]
    if f == Family.COMPANION:
        return [_line(tag, p["items"][0], prices, **d)]
    base = sorted(base_items_from(prices, rule))[0]
    if f == Family.STAY:
        prefix = p["prefixes"][0] if p["prefixes"] else ""
        diagnosis = UNDER_PREFIX.get(prefix, prefix + ".900") if prefix else HEALTH_CHECK
        end = day + timedelta(days=p["max_days"] + 1)
        return [
            _line(
                tag,
                base,
                prices,
                setting="inpatient",
                diagnosis=diagnosis,
                day=day,
                admit_date=day,
                discharge_date=end,
            )
        ]
    # readmission: a first short stay, then the second admission within the window
    out = day + timedelta(days=2)
    again = out + timedelta(days=max(0, p["days"] - 1))
    first_stay = _line(
        tag,
        base,
        prices,
        claim_id=f"{tag}a",
        setting="inpatient",
        diagnosis="J18.000",
        day=day,
        admit_date=day,
        discharge_date=out,
    )
    second = _line(
        tag,
        base,
        prices,
        claim_id=f"{tag}b",
        setting="inpatient",
        diagnosis="J18.100",
        day=again,
        admit_date=again,
        discharge_date=again + timedelta(days=2),
    )
    return [first_stay, second]


def base_items_from(prices: dict[str, int], rule: Rule) -> list[str]:
    return list(prices) or ["110200001"]


def score(findings: Iterable[Finding], truth: Truth) -> tuple[float, float]:
    """Precision and recall of the findings' (rule, claim) pairs against the injected truth."""
    found = {(f.rule_id, f.claim_id) for f in findings}
    hit = len(found & truth.pairs)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(truth.pairs) if truth.pairs else 1.0
    return precision, recall
