"""Tables of 云伴诊: a per-visit follow (the consent) and the feed lines delivered to the relative."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Follow(Base):
    """A patient's consent that one verified relative follows one visit (挂号 or 住院), with scopes."""

    __tablename__ = "companion_follows"
    __table_args__ = (Index("ix_companion_follows_patient_live", "patient_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    relative_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    relation_id: Mapped[int] = mapped_column(ForeignKey("family_relations.id"))
    relative_role: Mapped[str] = mapped_column(String(16))  # what the relative is to the patient
    visit_kind: Mapped[str] = mapped_column(String(16))  # booking / admission
    visit_id: Mapped[int]
    schedule_id: Mapped[int | None] = mapped_column(index=True)  # a booking's clinic queue
    progress: Mapped[bool] = mapped_column(default=True)
    results: Mapped[bool] = mapped_column(default=False)
    bills: Mapped[bool] = mapped_column(default=False)
    basis: Mapped[str] = mapped_column(String(16))  # self / guardian / authorised
    evidence: Mapped[str] = mapped_column(String(200), default="")
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # None: an admission not yet discharged
    revoked_at: Mapped[datetime | None]


class FeedItem(Base):
    """One line of a relative's feed, made from one outbox event (once per follow and event)."""

    __tablename__ = "companion_feed_items"
    __table_args__ = (UniqueConstraint("follow_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_id: Mapped[int] = mapped_column(ForeignKey("companion_follows.id"), index=True)
    event_id: Mapped[int]
    topic: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
