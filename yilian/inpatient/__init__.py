"""Inpatient care: the hospital-wide bed pool (全院一张床), pre-admission (预住院), admission, transfer
and discharge (出入转, ADT), discharge settlement (出院结算) and the discharge abstract (病案首页)."""
