"""Pure rules of the pharmacy's dispensing window."""

from __future__ import annotations

from enum import StrEnum


class WindowStatus(StrEnum):
    """Where a passed prescription stands at the dispensing window: waiting (not called yet; never
    stored), called to a window (叫号), dispensed (已发药). A dispensation row stores called or dispensed."""

    WAITING = "waiting"
    CALLED = "called"
    DISPENSED = "dispensed"

    @property
    def label(self) -> str:
        return {"waiting": "待叫号", "called": "已叫号", "dispensed": "已发药"}[self.value]
