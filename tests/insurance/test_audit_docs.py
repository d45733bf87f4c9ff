"""docs/audit.md stays true to the shipped library: its rule count, its families and its price list."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from yilian.insurance.audit.domain import Family, default_library

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
PRICES = ROOT / "yilian" / "insurance" / "audit" / "rules" / "prices.csv"


def test_the_doc_counts_the_rules_of_the_shipped_library() -> None:
    library = default_library()
    stated = re.search(r"the shipped library \(version `([^`]+)`, (\d+) rules, every family\)", DOC)
    assert stated is not None, "docs/audit.md no longer states the shipped library's version and size"
    assert (stated.group(1), int(stated.group(2))) == (library.version, len(library.rules))
    assert {r.family for r in library.rules} == set(Family)  # "every family"


def test_the_doc_describes_every_family() -> None:
    table = DOC[DOC.index("| family | params | finding | amount |") :].split("\n\n", 1)[0]
    described = set(re.findall(r"^\| `([a-z]+)` ", table, flags=re.MULTILINE))
    assert described == {f.value for f in Family}


def test_the_doc_counts_the_price_list() -> None:
    with PRICES.open(encoding="utf-8") as fh:
        items = list(csv.DictReader(fh))
    assert f"price list of {len(items)} catalogue items" in DOC
