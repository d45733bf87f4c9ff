"""Money as an integer number of fen (分); yuan (元) strings only at the edges."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Fen = int


class MoneyFormatError(ValueError):
    """A yuan amount that cannot be read exactly."""


def yuan(fen: Fen, *, symbol: bool = True) -> str:
    """Format fen as yuan with two decimals and thousands separators, e.g. ``¥1,234.50``."""
    if not isinstance(fen, int):
        raise TypeError("money must be an integer number of fen")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{whole:,}.{cents:02d}"


def parse_yuan(text: str | int | Decimal) -> Fen:
    """Read a yuan amount (at most two decimals) into fen; refuses anything inexact."""
    try:
        value = Decimal(str(text).replace(",", "").replace("¥", "").strip())
    except InvalidOperation as exc:
        raise MoneyFormatError(f"不是有效金额: {text!r}") from exc
    if not value.is_finite():
        raise MoneyFormatError(f"不是有效金额: {text!r}")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise MoneyFormatError(f"金额最多两位小数: {text!r}")
    return int(fen)


def ratio_of(amount: Fen, ratio: Decimal | str) -> Fen:
    """Return ``amount × ratio`` rounded half-up to whole fen (the house rounding rule)."""
    return int((Decimal(amount) * Decimal(ratio)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: Fen, weights: Sequence[int]) -> list[Fen]:
    """Split ``total`` in proportion to ``weights`` by largest remainder; the parts sum to ``total``."""
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    parts = [magnitude * w // weight_sum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(magnitude * weights[i] % weight_sum), i))
    for i in remainders[: magnitude - sum(parts)]:
        parts[i] += 1
    return [sign * p for p in parts]
