"""The CHS-DRG 1.1 tables and the ICD tables travel inside the wheel, with their NOTICE, so a hospital
that installs yilian needs no ../shared."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    *(f"yilian/drg/data/chs_drg_1_1/{stem}.txt.gz" for stem in ("1_MDC", "2_ADRG", "3_DRG", "4_ADRG_DETAIL")),
    *(f"yilian/drg/data/chs_drg_1_1/{stem}.txt.gz" for stem in ("5_MCC", "6_CC", "7_CCE", "or_procedures")),
    "yilian/drg/data/NOTICE",
    "yilian/drg/data/LICENSE-Apache-2.0.txt",
    "yilian/catalog/data/icd10_chs.tsv.gz",
    "yilian/catalog/data/icd9cm3_chs.tsv.gz",
    "yilian/catalog/data/common_icd10.txt",
    "yilian/catalog/data/NOTICE",
    "yilian/catalog/data/LICENSE-Apache-2.0.txt",
]


def test_wheel_carries_the_tables_and_their_notice(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("yilian-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert [p for p in EXPECTED if p not in names] == []
        notice = z.read("yilian/drg/data/NOTICE").decode("utf-8")
        assert "OpenDRG" in notice and "Apache License, Version 2.0" in notice
        size = sum(z.getinfo(p).compress_size for p in EXPECTED)
    assert size < 3_000_000  # compact: the ~7 MB of text tables gzip'd


def test_nothing_at_run_time_reads_shared() -> None:
    """No module of the package looks for the ../shared folder beside the clone."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "yilian").rglob("*.py")
        if '"shared"' in p.read_text(encoding="utf-8") or "../shared" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
