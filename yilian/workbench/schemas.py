"""API shapes of the doctor's workstation."""

from __future__ import annotations

from pydantic import BaseModel


class PrescribedRead(BaseModel):
    """A drug added to a prescription: the line, its order, the quantity rule and how it was charged."""

    line_id: int
    order_id: int
    name: str
    quantity: int
    unit: str
    rule: str
    on_credit: bool
    credit_refusal: str | None
