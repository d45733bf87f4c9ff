"""Every record of cases_with_expected_drg.csv with an expected DRG groups to it."""

from __future__ import annotations

import csv

import pytest

from tests.drg.helpers import DATA
from yilian.drg.domain import Grouper, record_from_row

with (DATA / "cases_with_expected_drg.csv").open(encoding="utf-8-sig") as fh:
    ROWS = list(csv.DictReader(fh))
EXPECTED = [r for r in ROWS if r["drg"]]


def test_the_file_has_24_expected_records() -> None:
    assert len(EXPECTED) == 24


@pytest.mark.parametrize("row", EXPECTED, ids=[r["Index"] for r in EXPECTED])
def test_groups_to_expected_drg(grouper: Grouper, row: dict[str, str]) -> None:
    result = grouper.group(record_from_row(row))
    assert result.drg == row["drg"], result.explanation
    assert result.status == "grouped"
    assert result.drg.startswith(result.adrg or "-")
    assert "结论" in result.steps[-1]


# The six records without an expected DRG in the file, with the group the 1.1 tables give them
# today (checked by hand against the ADRG lists): a change in the grouper that moves one of them shows.
UNLABELLED_OUTCOMES = {
    "22080305": "RC19",
    "22080446": "JD13",
    "22089232": "BY23",
    "22089767": "ZJ15",
    "22091181": "ZZ15",
    "22091208": "BZ15",
}


def test_records_without_expected_value_still_get_an_outcome(grouper: Grouper) -> None:
    unlabelled = [row for row in ROWS if not row["drg"]]
    assert {row["Index"] for row in unlabelled} == set(UNLABELLED_OUTCOMES)
    for row in unlabelled:
        result = grouper.group(record_from_row(row))
        assert result.status in ("grouped", "ungroupable", "ambiguous")
        assert (result.status, result.drg) == ("grouped", UNLABELLED_OUTCOMES[row["Index"]]), (
            result.explanation
        )
        assert result.drg.startswith(result.adrg or "-")
        assert result.explanation


def test_explanations_name_the_triggering_secondary_diagnosis(grouper: Grouper) -> None:
    row = next(r for r in EXPECTED if r["Index"] == "22084557")  # BB21
    result = grouper.group(record_from_row(row))
    assert result.severity == "MCC"
    assert result.trigger == "G93.501"
    assert "G93.501" in result.explanation and "MCC" in result.explanation
