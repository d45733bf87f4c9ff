"""Real-format test messages shared by the results tests: HL7 v2.5 ORU^R01, FHIR R4 bundles, DICOM files."""

from __future__ import annotations

import io

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.results.world import World


def oru(
    world: World,
    *,
    control: str = "MSG0001",
    sender: str = "TCO",
    obx: list[str] | None = None,
    id_number: str | None = None,
) -> str:
    pid = id_number or world.patient.id_number
    obx = obx or [
        "OBX|1|NM|GLU01^葡萄糖\\T\\血糖^L||5.6|mmol/L|3.9-6.1|N|||F|||20261110080000",
        "OBX|2|NM|K^钾^L||4.1|mmol/L|3.5-5.3||||F|||20261110080000",
        "OBX|3|ST|TBIL^总胆红素^L||<3.0\\S\\见备注|μmol/L|3.4\\F\\20.5|L|||F|||20261110080000",
    ]
    return (
        "\r".join(
            [
                f"MSH|^~\\&|LIS|{sender}|YILIAN|REGION|20261110083000||ORU^R01^ORU_R01|{control}|P|2.5|||AL|NE||UNICODE UTF-8",
                f"PID|1||H000123^^^{sender}^MR~{pid}^^^^NNCHN||王^血糖||19800517|M",
                "OBR|1|ORD1|FIL-20261110-1|CHEM^生化^L|||20261110075500|||||||||||||||20261110083000||LAB|F",
                *obx,
            ]
        )
        + "\r"
    )


def fhir_bundle(
    world: World, *, bundle_id: str = "B-1", status: str = "final", value: float = 6.2
) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p1",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [
                        {
                            "system": "https://yilian.dev/fhir/sid/cn-resident-id",
                            "value": world.patient.id_number,
                        }
                    ],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:o1",
                "resource": {
                    "resourceType": "Organization",
                    "identifier": [
                        {"system": "https://yilian.dev/fhir/sid/institution-code", "value": "TGH"}
                    ],
                    "name": "测试总医院",
                },
                "request": {"method": "POST", "url": "Organization"},
            },
            {
                "fullUrl": "urn:uuid:obs1",
                "resource": {
                    "resourceType": "Observation",
                    "id": "obs1",
                    "status": status,
                    "identifier": [{"system": "urn:lis:TGH", "value": "TGH-LIS-778-1"}],
                    "code": {
                        "coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]
                    },
                    "subject": {"reference": "urn:uuid:p1"},
                    "effectiveDateTime": "2026-11-12T08:10:00+08:00",
                    "valueQuantity": {"value": value, "unit": "mmol/L"},
                    "referenceRange": [{"low": {"value": 3.9}, "high": {"value": 6.1}}],
                    "interpretation": [{"coding": [{"code": "H"}]}],
                },
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "fullUrl": "urn:uuid:dr1",
                "resource": {
                    "resourceType": "DiagnosticReport",
                    "status": "final",
                    "code": {"text": "生化"},
                    "subject": {"reference": "urn:uuid:p1"},
                    "effectiveDateTime": "2026-11-12T08:10:00+08:00",
                    "result": [{"reference": "urn:uuid:obs1"}],
                },
                "request": {"method": "POST", "url": "DiagnosticReport"},
            },
        ],
    }


def dicom_bytes(id_number: str, uid: str) -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("ct.dcm", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.PatientID = id_number
    ds.PatientName = "WANG^XUETANG"
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.Modality = "CT"
    ds.BodyPartExamined = "CHEST"
    ds.StudyDate = "20261105"
    ds.StudyTime = "101500"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
