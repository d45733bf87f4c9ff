"""Benchmark: smart insurance audit (医保智能审核) — batch audit throughput and pre-check latency.

    .venv/bin/python benchmarks/audit.py [--quick] [--lines N] [--threads T]

1. Builds a DuckDB table of N synthetic claim lines (default 10,000,000; ``--quick`` 1,000,000) with
   violations of every rule of the shipped library injected at known positions.
2. Batch engine: every rule compiled to vectorised DuckDB SQL over that table (lines/s, wall time),
   precision and recall against the injected truth.
3. Same run, ceiling: a raw DuckDB scan of the same table reading the columns the rules use.
4. Same run, baseline: naive per-row Python evaluation (the per-claim engine, claim by claim) on a
   100,000-line sample, extrapolated to N; the batch engine's findings on that sample must be equal.
5. Per-claim engine latency for a 30-line bill against a 500-rule library: p50 / p99 in ms.

The last stdout line is one JSON object with lines_per_s, ratio_to_naive, ratio_to_scan,
precheck_p50_ms, precheck_p99_ms, precision, recall and more.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from yilian.insurance.audit import synth  # noqa: E402
from yilian.insurance.audit.batch import BatchEngine, findings_from_arrow, lines_to_arrow  # noqa: E402
from yilian.insurance.audit.domain import (  # noqa: E402  # noqa: E402
    LINE_FAMILIES,
    ClaimEngine,
    ClaimLine,
    Family,
    Finding,
    Rule,
    RuleLibrary,
    Severity,
    Stage,
    _line_finding,
    default_library,
)

SAMPLE = 100_000


def naive_per_row(lib: RuleLibrary, sample: list[ClaimLine]) -> list[Finding]:
    """Naive evaluation: every line tested against every line-level rule in a Python loop (no item index);
    the grouped and claim-level families through the per-claim engine."""
    line_rules = [r for r in lib.rules if r.family in LINE_FAMILIES]
    item_sets = [(r, r.items()) for r in line_rules]
    out = []
    for line in sample:
        for rule, items in item_sets:
            if line.item_code in items and rule.active(line.service_date):
                found = _line_finding(rule, line)
                if found is not None:
                    out.append(found)
    grouped = RuleLibrary(lib.version, lib.name, tuple(r for r in lib.rules if r.family not in LINE_FAMILIES))
    out.extend(ClaimEngine(grouped).check_many(sample))
    return sorted(out)


def big_library(n_rules: int, seed: int = 5) -> tuple[RuleLibrary, list[str]]:
    """A library of ``n_rules`` rules over a pool of item codes (every family, one 2,000-item price list)."""
    rnd = random.Random(seed)
    pool = [f"I{n:05d}" for n in range(2000)]
    stages = frozenset(Stage)
    rules: list[Rule] = [
        Rule(
            "PRC",
            Family.PRICE,
            "价格",
            Severity.VIOLATION,
            stages,
            params={"prices": {c: 1000 for c in pool}},
        )
    ]
    families = [f for f in Family if f not in (Family.PRICE,)]
    for n in range(n_rules - 1):
        family = families[n % len(families)]
        items = rnd.sample(pool, 3)
        by_family: dict[Family, dict[str, object]] = {
            Family.SEX: {"items": items, "sex": "M"},
            Family.AGE: {"items": items, "min_age": 0, "max_age": 14},
            Family.INDICATION: {"items": items, "prefixes": ["E11", "E10"]},
            Family.LEVEL: {"items": items, "min_level": 3},
            Family.SCHEME: {"items": items, "schemes": ["employee"]},
            Family.SETTING: {"items": items, "settings": ["inpatient"]},
            Family.QUANTITY: {"items": items, "per": "day", "max": 2},
            Family.DUPLICATE: {"items": items, "period_days": 7},
            Family.INCLUDED: {"main": items[:1], "sub": items[1:]},
            Family.EXCLUSIVE: {"a": items[:1], "b": items[1:]},
            Family.COMPANION: {"items": items[:1], "requires": items[1:]},
            Family.READMISSION: {"days": 15, "match_chars": 3},
            Family.STAY: {"max_days": 30, "prefixes": []},
        }
        params = by_family[family]
        rules.append(Rule(f"R{n}", family, "规则", Severity.SUSPECT, stages, params=params))
    return RuleLibrary("bench", "bench", tuple(rules)), pool


def precheck_latency(calls: int) -> tuple[float, float, int]:
    lib, pool = big_library(500)
    engine = ClaimEngine(lib, Stage.PRE)
    rnd = random.Random(9)
    day = date(2026, 6, 1)
    bills = []
    for b in range(200):
        lines = [
            ClaimLine(i, f"B{b}", "P1", rnd.choice("MF"), rnd.randint(0, 90), "resident", 2, "outpatient",
                      rnd.choice(["E11.9", "J06.9"]), day, day, day, rnd.choice(pool), rnd.randint(1, 3),
                      rnd.choice([1000, 1200]), 1000)
            for i in range(30)
        ]  # fmt: skip
        history = [
            ClaimLine(1000 + i, f"H{b}", "P1", "F", 40, "resident", 2, "outpatient", "E11.9",
                      day - timedelta(days=3), day - timedelta(days=3), day - timedelta(days=3),
                      rnd.choice(pool), 1, 1000, 1000)
            for i in range(30)
        ]  # fmt: skip
        bills.append((lines, history))
    times = []
    hits = 0
    for n in range(calls):
        lines, history = bills[n % len(bills)]
        t = time.perf_counter()
        hits += len(engine.check(lines, history))
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], hits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1,000,000 lines, fewer pre-check calls")
    ap.add_argument("--lines", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    n = args.lines or (1_000_000 if args.quick else 10_000_000)
    lib = default_library()
    con = duckdb.connect()
    con.sql(f"SET threads = {args.threads}")

    t = time.perf_counter()
    synth.create_base_table(con, lib, n, table="base")
    extra, truth = synth.injected(lib, start_line_id=n, copies=5)
    con.register("extra", lines_to_arrow(extra))
    con.sql("CREATE TABLE claim_lines AS SELECT * FROM base UNION ALL SELECT * FROM extra ORDER BY line_id")
    con.sql("DROP TABLE base")
    total = n + len(extra)
    gen_s = time.perf_counter() - t
    print(f"generated {total:,} lines in {gen_s:.1f} s", file=sys.stderr)

    engine = BatchEngine(lib, Stage.POST)
    t = time.perf_counter()
    found = engine.run_arrow(con, "claim_lines")
    audit_s = time.perf_counter() - t
    findings = findings_from_arrow(found)
    precision, recall = synth.score(findings, truth)
    print(f"batch audit: {audit_s:.2f} s, {len(findings)} findings", file=sys.stderr)

    t = time.perf_counter()
    con.sql(
        "SELECT count(*), sum(amount), sum(quantity * unit_price), max(item_code), max(diagnosis), "
        "max(patient_id), max(claim_id), min(service_date), max(admit_date), max(discharge_date), max(sex), "
        "max(age), max(level), max(scheme), max(setting) FROM claim_lines"
    ).fetchall()
    scan_s = time.perf_counter() - t

    sample_rows = con.sql(f"SELECT * FROM claim_lines ORDER BY line_id LIMIT {SAMPLE}").to_arrow_table()
    sample = [ClaimLine(**r) for r in sample_rows.to_pylist()]
    post = lib.for_stage(Stage.POST)
    t = time.perf_counter()
    naive_findings = naive_per_row(post, sample)
    naive_s = time.perf_counter() - t
    t = time.perf_counter()
    indexed_findings = ClaimEngine(post).check_many(sample)
    indexed_s = time.perf_counter() - t
    sample_con = duckdb.connect()
    sample_con.register("claim_lines", sample_rows)
    same_on_sample = engine.run(sample_con) == naive_findings == indexed_findings
    naive_lps = len(sample) / naive_s

    calls = 2000 if args.quick else 10000
    p50, p99, _ = precheck_latency(calls)

    lps = total / audit_s
    scan_lps = total / scan_s
    print(
        json.dumps(
            {
                "lines": total,
                "threads": args.threads,
                "cpu_count": os.cpu_count(),
                "rules": len(lib.rules),
                "price_items": len(next(r for r in lib.rules if r.family == Family.PRICE).params["prices"]),
                "lines_per_s": round(lps),
                "audit_seconds": round(audit_s, 3),
                "scan_lines_per_s": round(scan_lps),
                "scan_seconds": round(scan_s, 3),
                "ratio_to_scan": round(lps / scan_lps, 4),
                "naive_lines_per_s": round(naive_lps),
                "naive_extrapolated_seconds": round(total / naive_lps, 1),
                "ratio_to_naive": round(lps / naive_lps, 1),
                "per_claim_engine_lines_per_s": round(len(sample) / indexed_s),
                "naive_equals_batch_on_sample": same_on_sample,
                "precheck_rules": 500,
                "precheck_bill_lines": 30,
                "precheck_p50_ms": round(p50, 3),
                "precheck_p99_ms": round(p99, 3),
                "findings": len(findings),
                "injected": len(truth.pairs),
                "precision": precision,
                "recall": recall,
                "generate_seconds": round(gen_s, 1),
                "target_lines_per_s": 1_000_000,
                "meets_target": lps >= 1_000_000,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
