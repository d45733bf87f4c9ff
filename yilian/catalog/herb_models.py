"""The herbal slice catalogue (中药饮片): dose limits, toxicity, pregnancy cautions, special handling.

Each herb is also a catalogue item (kind ``drug``, unit g, price per gram) so that its grams are
ordered and charged like any other drug."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class HerbRow(Base):
    __tablename__ = "herbs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    price_fen: Mapped[int]  # per gram
    usual_min_g: Mapped[int]
    usual_max_g: Mapped[int]
    max_g: Mapped[int]
    toxic: Mapped[bool] = mapped_column(default=False)
    pregnancy: Mapped[str] = mapped_column(String(4), default="")
    handling: Mapped[str] = mapped_column(String(4), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
