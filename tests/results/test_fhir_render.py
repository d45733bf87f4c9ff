"""The FHIR results are rendered as plain dicts on the read path (no pydantic model per resource, issue 16):
every kind of resource, with every optional part present and absent, must be exactly what fhir.resources
gives back after validating it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from yilian.results import fhir

UTC_AT = datetime(2026, 11, 10, 8, 0, 5, 123456, tzinfo=UTC)
CST_AT = datetime(2026, 11, 10, 16, 0, tzinfo=timezone(timedelta(hours=8)))


def _row(**over: Any) -> SimpleNamespace:
    row = {
        "id": 7,
        "kind": "lab",
        "item_code": "GLU",
        "source_key": "hl7:TCO:H1:1",
        "status": "final",
        "observed_at": UTC_AT,
        "received_at": UTC_AT,
        "institution_id": 3,
        "value_num": 6.2,
        "value_text": "6.2",
        "unit": "mmol/L",
        "reference_range": "3.9-6.1",
        "abnormal_flag": "H",
        "report_text": "",
        "study_uid": "",
    }
    return SimpleNamespace(**(row | over))


LAB_ROWS = [
    _row(),
    _row(status="corrected", observed_at=CST_AT, abnormal_flag="", reference_range=""),
    _row(status="preliminary", value_num=None, value_text="阴性", unit=""),
    _row(status="cancelled", value_num=None, value_text="", report_text="标本溶血"),
    _row(value_num=None, value_text="", report_text=""),
    _row(value_num=5.0),
]
IMAGING_ROWS = [
    _row(kind="imaging", item_code="CT-CHEST", value_num=None, value_text="", unit="", reference_range="",
         abnormal_flag="", report_text="双肺未见明显异常。", study_uid="1.2.840.1"),
    _row(kind="imaging", item_code="DR-CHEST", value_num=None, value_text="", unit="", reference_range="",
         abnormal_flag="", report_text="", study_uid="", observed_at=CST_AT),
]  # fmt: skip


@pytest.mark.parametrize("row", LAB_ROWS + IMAGING_ROWS)
@pytest.mark.parametrize("loinc", ["", "2345-7"])
def test_observation_and_report_equal_their_validated_form(row: SimpleNamespace, loinc: str) -> None:
    obs = fhir.observation_resource(row, item_name="葡萄糖", loinc=loinc, mpi_id="YL0000000001")
    assert obs == fhir.validated(obs)
    report = fhir.diagnostic_report_resource(row, item_name="葡萄糖", loinc=loinc, mpi_id="YL0000000001")
    assert report == fhir.validated(report)
    issued = fhir.diagnostic_report_resource(
        row, item_name="葡萄糖", loinc=loinc, mpi_id="YL0000000001", issued=CST_AT
    )
    assert issued == fhir.validated(issued) and issued["issued"] == "2026-11-10T16:00:00+08:00"


@pytest.mark.parametrize("row", IMAGING_ROWS)
def test_imaging_study_equals_its_validated_form(row: SimpleNamespace) -> None:
    study = fhir.imaging_study_resource(row, mpi_id="YL0000000001", modality="CT")
    assert study == fhir.validated(study)


def test_searchset_equals_its_validated_form() -> None:
    observations = [
        fhir.observation_resource(r, item_name="葡萄糖", loinc="", mpi_id="YL1") for r in LAB_ROWS
    ]
    reports = [
        fhir.diagnostic_report_resource(r, item_name="x", loinc="", mpi_id="YL1") for r in IMAGING_ROWS
    ]
    for bundle in (
        fhir.searchset(observations, 9),
        fhir.searchset(reports, 2, observations),
        fhir.searchset([], 0),
    ):
        assert bundle == fhir.validated(bundle)


def test_utc_is_written_as_z() -> None:
    assert fhir.instant(UTC_AT) == "2026-11-10T08:00:05.123456Z"
    assert fhir.instant(CST_AT) == "2026-11-10T16:00:00+08:00"
