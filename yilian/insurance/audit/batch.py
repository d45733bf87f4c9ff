"""The batch engine (事后审核): every rule compiled to vectorised DuckDB SQL over a claims table.

Rules of one family become one small parameter table; each family is one set-based query that joins
the claim lines to its parameter table (hash join on the item code) — never a Python loop per row.
The meaning is the one of :class:`yilian.insurance.audit.domain.ClaimEngine`.

The claims table (or view) must have the columns of :data:`domain.LINE_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from yilian.insurance.audit.domain import (
    LINE_COLUMNS,
    ClaimLine,
    Family,
    Finding,
    RuleLibrary,
    Stage,
)

LINE_SCHEMA = pa.schema(
    [
        ("line_id", pa.int64()),
        ("claim_id", pa.string()),
        ("patient_id", pa.string()),
        ("sex", pa.string()),
        ("age", pa.int32()),
        ("scheme", pa.string()),
        ("level", pa.int32()),
        ("setting", pa.string()),
        ("diagnosis", pa.string()),
        ("admit_date", pa.date32()),
        ("discharge_date", pa.date32()),
        ("service_date", pa.date32()),
        ("item_code", pa.string()),
        ("quantity", pa.int32()),
        ("unit_price", pa.int64()),
        ("amount", pa.int64()),
        ("department", pa.string()),
    ]
)
assert tuple(LINE_SCHEMA.names) == LINE_COLUMNS


def lines_to_arrow(lines: Sequence[ClaimLine]) -> pa.Table:
    cols = {name: [getattr(line, name) for line in lines] for name in LINE_COLUMNS}
    return pa.table(cols, schema=LINE_SCHEMA)


def _param_tables(library: RuleLibrary) -> dict[str, pa.Table]:
    line_rows: list[dict[str, Any]] = []
    qty: list[dict[str, Any]] = []
    dup: list[dict[str, Any]] = []
    inc: list[dict[str, Any]] = []
    exc: list[dict[str, Any]] = []
    comp: list[dict[str, Any]] = []
    comp_req: list[dict[str, Any]] = []
    readm: list[dict[str, Any]] = []
    stay: list[dict[str, Any]] = []
    for r in library.rules:
        p = r.params
        base = {"rule_id": r.id, "eff_from": r.effective_from, "eff_to": r.effective_to}
        f = r.family
        if f in (Family.SEX, Family.AGE, Family.INDICATION, Family.LEVEL, Family.SCHEME, Family.SETTING):
            for code in p["items"]:
                line_rows.append(
                    {
                        **base,
                        "family": f.value,
                        "item_code": code,
                        "sex": p.get("sex"),
                        "min_age": p.get("min_age"),
                        "max_age": p.get("max_age"),
                        "prefixes": p.get("prefixes"),
                        "min_level": p.get("min_level"),
                        "allowed": p.get("schemes") or p.get("settings"),
                        "price": None,
                    }
                )
        elif f == Family.PRICE:
            for code, price in p["prices"].items():
                line_rows.append(
                    {
                        **base,
                        "family": f.value,
                        "item_code": code,
                        "sex": None,
                        "min_age": None,
                        "max_age": None,
                        "prefixes": None,
                        "min_level": None,
                        "allowed": None,
                        "price": price,
                    }
                )
        elif f == Family.QUANTITY:
            qty += [
                {**base, "item_code": c, "by_day": p["per"] == "day", "max_qty": p["max"]} for c in p["items"]
            ]
        elif f == Family.DUPLICATE:
            dup += [{**base, "item_code": c, "period_days": p["period_days"]} for c in p["items"]]
        elif f == Family.INCLUDED:
            inc += [{**base, "item_code": c, "is_sub": False} for c in p["main"]]
            inc += [{**base, "item_code": c, "is_sub": True} for c in p["sub"]]
        elif f == Family.EXCLUSIVE:
            exc += [{**base, "item_code": c, "is_b": False} for c in p["a"]]
            exc += [{**base, "item_code": c, "is_b": True} for c in p["b"]]
        elif f == Family.COMPANION:
            comp += [{**base, "item_code": c} for c in p["items"]]
            comp_req += [{"rule_id": r.id, "item_code": c} for c in p["requires"]]
        elif f == Family.READMISSION:
            readm.append({**base, "days": p["days"], "match_chars": p["match_chars"]})
        elif f == Family.STAY:
            stay.append({**base, "max_days": p["max_days"], "prefixes": p["prefixes"]})
    d, s, i, b = pa.date32(), pa.string(), pa.int64(), pa.bool_()
    common = [("rule_id", s), ("eff_from", d), ("eff_to", d)]
    schemas = {
        "r_line": common
        + [
            ("family", s),
            ("item_code", s),
            ("sex", s),
            ("min_age", i),
            ("max_age", i),
            ("prefixes", pa.list_(s)),
            ("min_level", i),
            ("allowed", pa.list_(s)),
            ("price", i),
        ],
        "r_qty": common + [("item_code", s), ("by_day", b), ("max_qty", i)],
        "r_dup": common + [("item_code", s), ("period_days", i)],
        "r_inc": common + [("item_code", s), ("is_sub", b)],
        "r_exc": common + [("item_code", s), ("is_b", b)],
        "r_comp": common + [("item_code", s)],
        "r_comp_req": [("rule_id", s), ("item_code", s)],
        "r_readm": common + [("days", i), ("match_chars", i)],
        "r_stay": common + [("max_days", i), ("prefixes", pa.list_(s))],
    }
    rows = {
        "r_line": line_rows,
        "r_qty": qty,
        "r_dup": dup,
        "r_inc": inc,
        "r_exc": exc,
        "r_comp": comp,
        "r_comp_req": comp_req,
        "r_readm": readm,
        "r_stay": stay,
    }
    return {name: pa.Table.from_pylist(rows[name], schema=pa.schema(schemas[name])) for name in schemas}


WINDOW = "l.service_date BETWEEN r.eff_from AND r.eff_to"


@dataclass(frozen=True)
class Dialect:
    """The few spellings that differ between SQL engines; the rule families are written once.

    ``DUCKDB`` and ``SPARK`` are the two targets; a new engine is one more instance of this class.
    """

    name: str
    array_open: str  # array literal: ``[a, b]`` vs ``array(a, b)``
    array_close: str
    empty_strings: str  # an empty list of strings / of integers
    empty_ints: str
    agg_list: str  # aggregate into a list (order unspecified): ``list`` vs ``collect_list``
    sort_list: str  # ``list_sort`` vs ``array_sort``
    size: str  # number of elements: ``len`` vs ``size``
    contains: str  # ``list_contains`` vs ``array_contains``
    anti_join: str  # ``ANTI JOIN`` vs ``LEFT ANTI JOIN``
    int_div: str  # integer division operator
    filter_fn: str  # ``list_filter`` vs ``filter``
    lambda_fmt: str  # ``lambda x: {}`` vs ``x -> {}``

    def array(self, *items: str) -> str:
        return f"{self.array_open}{', '.join(items)}{self.array_close}"

    def sorted_agg(self, expr: str) -> str:
        return f"{self.sort_list}({self.agg_list}({expr}))"

    def days(self, start: str, end: str) -> str:
        """Whole days from ``start`` to ``end`` (both DATE)."""
        if self.name == "spark":
            return f"datediff({end}, {start})"
        return f"date_diff('day', {start}, {end})"

    def prefix_hits(self, prefixes: str, text: str) -> str:
        """How many of the ``prefixes`` ``text`` starts with (NULL text: none)."""
        body = self.lambda_fmt.format(f"left({text}, length(x)) = x")
        return f"{self.size}({self.filter_fn}({prefixes}, {body}))"


DUCKDB = Dialect(
    name="duckdb",
    array_open="[",
    array_close="]",
    empty_strings="[]::VARCHAR[]",
    empty_ints="[]::BIGINT[]",
    agg_list="list",
    sort_list="list_sort",
    size="len",
    contains="list_contains",
    anti_join="ANTI JOIN",
    int_div="//",
    filter_fn="list_filter",
    lambda_fmt="lambda x: {}",
)
SPARK = Dialect(
    name="spark",
    array_open="array(",
    array_close=")",
    empty_strings="CAST(array() AS ARRAY<STRING>)",
    empty_ints="CAST(array() AS ARRAY<BIGINT>)",
    agg_list="collect_list",
    sort_list="array_sort",
    size="size",
    contains="array_contains",
    anti_join="LEFT ANTI JOIN",
    int_div="div",
    filter_fn="filter",
    lambda_fmt="x -> {}",
)


def compile_queries(d: Dialect) -> dict[str, str]:
    """Every rule family as one set-based query in dialect ``d``; ``{t}`` is the claims table."""
    no_str, no_int = d.empty_strings, d.empty_ints
    return {
        # one scan for every single-line family: sex, age, indication, level, scheme, setting, price
        "line": f"""
SELECT r.rule_id, l.claim_id, {d.array("l.line_id")} AS lines, {no_str} AS related,
  CASE WHEN r.family = 'price' THEN (l.unit_price - r.price) * l.quantity ELSE l.amount END AS amount,
  CASE r.family WHEN 'sex' THEN l.sex WHEN 'indication' THEN l.diagnosis WHEN 'scheme' THEN l.scheme
    WHEN 'setting' THEN l.setting WHEN 'age' THEN CAST(l.age AS STRING)
    WHEN 'level' THEN CAST(l.level AS STRING)
    ELSE CAST(l.unit_price AS STRING) END AS value
FROM {{t}} l JOIN r_line r ON l.item_code = r.item_code
WHERE {WINDOW} AND CASE r.family
  WHEN 'sex' THEN l.sex <> r.sex
  WHEN 'age' THEN l.age < r.min_age OR l.age > r.max_age
  WHEN 'indication' THEN {d.prefix_hits("r.prefixes", "l.diagnosis")} = 0
  WHEN 'level' THEN l.level < r.min_level
  WHEN 'scheme' THEN NOT {d.contains}(r.allowed, l.scheme)
  WHEN 'setting' THEN NOT {d.contains}(r.allowed, l.setting)
  WHEN 'price' THEN l.unit_price > r.price
  ELSE false END
""",
        "quantity": f"""
SELECT r.rule_id, l.claim_id, {d.sorted_agg("l.line_id")} AS lines, {no_str} AS related,
  CAST(sum(l.amount) * (sum(l.quantity) - r.max_qty) {d.int_div} sum(l.quantity) AS BIGINT) AS amount,
  CAST(sum(l.quantity) AS STRING) AS value
FROM {{t}} l JOIN r_qty r ON l.item_code = r.item_code
WHERE {WINDOW}
GROUP BY r.rule_id, l.claim_id, CASE WHEN r.by_day THEN l.service_date END, r.max_qty
HAVING sum(l.quantity) > r.max_qty
""",
        "duplicate": f"""
WITH m AS (
  SELECT r.rule_id, r.period_days, l.line_id, l.claim_id, l.patient_id, l.item_code, l.service_date, l.amount,
    lag(l.line_id) OVER w AS prev_id, lag(l.service_date) OVER w AS prev_date
  FROM {{t}} l JOIN r_dup r ON l.item_code = r.item_code
  WHERE {WINDOW}
  WINDOW w AS (PARTITION BY r.rule_id, l.patient_id, l.item_code ORDER BY l.service_date, l.line_id)
)
SELECT rule_id, claim_id, {d.array("least(prev_id, line_id)", "greatest(prev_id, line_id)")} AS lines,
  {no_str} AS related, amount, CAST({d.days("prev_date", "service_date")} AS STRING) AS value
FROM m WHERE prev_id IS NOT NULL AND {d.days("prev_date", "service_date")} < period_days
""",
        "included": f"""
WITH m AS (
  SELECT r.rule_id, r.is_sub, l.line_id, l.claim_id, l.service_date, l.item_code, l.amount
  FROM {{t}} l JOIN r_inc r ON l.item_code = r.item_code WHERE {WINDOW}
)
SELECT s.rule_id, s.claim_id,
  {d.sort_list}(concat({d.agg_list}(mn.line_id), {d.array("s.line_id")})) AS lines,
  {no_str} AS related, s.amount, s.item_code AS value
FROM m s JOIN m mn ON mn.rule_id = s.rule_id AND mn.claim_id = s.claim_id
  AND mn.service_date = s.service_date AND NOT mn.is_sub
WHERE s.is_sub
GROUP BY s.rule_id, s.claim_id, s.line_id, s.amount, s.item_code
""",
        "exclusive": f"""
SELECT r.rule_id, l.claim_id, {d.sorted_agg("l.line_id")} AS lines, {no_str} AS related,
  CAST(sum(l.amount) FILTER (WHERE r.is_b) AS BIGINT) AS amount, CAST(count(*) AS STRING) AS value
FROM {{t}} l JOIN r_exc r ON l.item_code = r.item_code
WHERE {WINDOW}
GROUP BY r.rule_id, l.claim_id, l.service_date
HAVING bool_or(r.is_b) AND bool_or(NOT r.is_b)
""",
        "companion": f"""
WITH present AS (
  SELECT DISTINCT q.rule_id, l.claim_id FROM {{t}} l JOIN r_comp_req q ON l.item_code = q.item_code
)
SELECT r.rule_id, l.claim_id, {d.array("l.line_id")} AS lines, {no_str} AS related, l.amount,
  l.item_code AS value
FROM {{t}} l JOIN r_comp r ON l.item_code = r.item_code
{d.anti_join} present p ON p.rule_id = r.rule_id AND p.claim_id = l.claim_id
WHERE {WINDOW}
""",
        "readmission": f"""
WITH c AS (
  SELECT claim_id, any_value(patient_id) AS patient_id, any_value(admit_date) AS admit_date,
    any_value(discharge_date) AS discharge_date, any_value(diagnosis) AS diagnosis, sum(amount) AS total
  FROM {{t}} WHERE setting = 'inpatient' GROUP BY claim_id
)
SELECT r.rule_id, b.claim_id, {no_int} AS lines, {d.sorted_agg("a.claim_id")} AS related,
  CAST(b.total AS BIGINT) AS amount,
  CAST(min({d.days("a.discharge_date", "b.admit_date")}) AS STRING) AS value
FROM c b CROSS JOIN r_readm r JOIN c a ON a.patient_id = b.patient_id AND a.claim_id <> b.claim_id
WHERE b.admit_date BETWEEN r.eff_from AND r.eff_to
  AND {d.days("a.discharge_date", "b.admit_date")} BETWEEN 0 AND r.days
  AND left(a.diagnosis, CAST(r.match_chars AS INTEGER)) = left(b.diagnosis, CAST(r.match_chars AS INTEGER))
GROUP BY r.rule_id, b.claim_id, b.total
""",
        "stay": f"""
WITH c AS (
  SELECT claim_id, any_value(admit_date) AS admit_date, any_value(discharge_date) AS discharge_date,
    any_value(diagnosis) AS diagnosis
  FROM {{t}} WHERE setting = 'inpatient' GROUP BY claim_id
)
SELECT r.rule_id, c.claim_id, {no_int} AS lines, {no_str} AS related, CAST(0 AS BIGINT) AS amount,
  CAST({d.days("c.admit_date", "c.discharge_date")} AS STRING) AS value
FROM c CROSS JOIN r_stay r
WHERE c.admit_date BETWEEN r.eff_from AND r.eff_to
  AND {d.days("c.admit_date", "c.discharge_date")} > r.max_days
  AND ({d.size}(r.prefixes) = 0 OR {d.prefix_hits("r.prefixes", "c.diagnosis")} > 0)
""",
    }


QUERIES: dict[str, str] = compile_queries(DUCKDB)

EMPTY_CHECK = {
    "line": ("r_line",),
    "quantity": ("r_qty",),
    "duplicate": ("r_dup",),
    "included": ("r_inc",),
    "exclusive": ("r_exc",),
    "companion": ("r_comp",),
    "readmission": ("r_readm",),
    "stay": ("r_stay",),
}


class BatchEngine:
    """Compiles a library once; ``run`` audits a claims table in a DuckDB connection."""

    def __init__(self, library: RuleLibrary, stage: Stage | None = Stage.POST) -> None:
        self.library = library.for_stage(stage)
        self.tables = _param_tables(self.library)

    def sql(self, table: str, dialect: Dialect = DUCKDB) -> dict[str, str]:
        """The compiled queries, one per family group, that have at least one rule."""
        queries = QUERIES if dialect is DUCKDB else compile_queries(dialect)
        return {
            name: q.replace("{t}", table)
            for name, q in queries.items()
            if all(self.tables[t].num_rows for t in EMPTY_CHECK[name])
        }

    def run_arrow(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str = "claim_lines",
        progress: Callable[[str, int, int], None] | None = None,
    ) -> pa.Table:
        """Run every compiled query; returns one Arrow table of findings."""
        for name, tbl in self.tables.items():
            con.register(name, tbl)
        queries = self.sql(table)
        parts = []
        for n, (name, q) in enumerate(queries.items(), start=1):
            parts.append(con.sql(q).to_arrow_table().cast(FINDING_SCHEMA))
            if progress:
                progress(name, n, len(queries))
        return pa.concat_tables(parts) if parts else FINDING_SCHEMA.empty_table()

    def run(self, con: duckdb.DuckDBPyConnection, table: str = "claim_lines") -> list[Finding]:
        return findings_from_arrow(self.run_arrow(con, table))

    def audit_lines(self, lines: Sequence[ClaimLine]) -> list[Finding]:
        """Convenience: audit an in-memory list (loads it as an Arrow table)."""
        con = duckdb.connect()
        try:
            con.register("claim_lines", lines_to_arrow(lines))
            return self.run(con)
        finally:
            con.close()


FINDING_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("claim_id", pa.string()),
        ("lines", pa.list_(pa.int64())),
        ("related", pa.list_(pa.string())),
        ("amount", pa.int64()),
        ("value", pa.string()),
    ]
)


def findings_from_arrow(table: pa.Table) -> list[Finding]:
    rows = table.to_pylist()
    return sorted(
        Finding(
            r["rule_id"], r["claim_id"], tuple(r["lines"]), tuple(r["related"]), int(r["amount"]), r["value"]
        )
        for r in rows
    )
