"""Regenerate the reference data shipped inside the package from the public tables.

    python scripts/package_reference_data.py ../shared/data

Writes (gzip, reproducible: no timestamps):

- ``yilian/drg/data/chs_drg_1_1/*.txt.gz``: the seven CHS-DRG 1.1 tables in their published text
  layout and ``or_procedures.txt.gz`` (the operating-room procedure list of the scheme);
- ``yilian/catalog/data/icd10_chs.tsv.gz`` and ``icd9cm3_chs.tsv.gz``: ``code<TAB>name<TAB>initials``
  of the national insurance edition (医保版) with the pinyin initials computed once here.

Source: the OpenDRG transcription of the national publications (Apache-2.0); see the NOTICE files.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

from yilian.catalog.domain import name_initials
from yilian.drg.importer import FILES

ROOT = Path(__file__).resolve().parents[1]


def _gz(path: Path, data: bytes) -> None:
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(data)


def main(src: Path) -> None:
    drg = ROOT / "yilian" / "drg" / "data" / "chs_drg_1_1"
    drg.mkdir(parents=True, exist_ok=True)
    for stem in FILES:
        _gz(drg / f"{stem}.txt.gz", (src / "chs-drg-1.1" / f"{stem}.txt").read_bytes())
    _gz(drg / "or_procedures.txt.gz", (src / "icd-chs" / "or_procedures.txt").read_bytes())
    catalog = ROOT / "yilian" / "catalog" / "data"
    for name, out in (("diagnoses.txt", "icd10_chs.tsv.gz"), ("procedures.txt", "icd9cm3_chs.tsv.gz")):
        lines = []
        for line in (src / "icd-chs" / name).read_text(encoding="utf-8-sig").splitlines():
            if not line.strip():
                continue
            code, _, label = line.strip().partition(" ")
            label = label.strip()
            lines.append(f"{code}\t{label}\t{name_initials(label)}")
        _gz(catalog / out, ("\n".join(lines) + "\n").encode("utf-8"))
    for folder in (ROOT / "yilian" / "drg" / "data", catalog):
        shutil.copyfile(src / "icd-chs" / "LICENSE", folder / "LICENSE-Apache-2.0.txt")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"))
