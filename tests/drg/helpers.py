"""What the DRG tests share: where the CHS-DRG 1.1 tables lie (../shared, beside the clone, never copied)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "chs-drg-1.1"
