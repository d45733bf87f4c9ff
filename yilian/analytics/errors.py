"""Typed errors of analytics (rendered as Chinese problem+json)."""

from __future__ import annotations

from yilian.kit.errors import InvalidInput, NotFound


class InvalidPeriod(InvalidInput):
    """A month or range that cannot be read (bad format, end before start, too long)."""


class UnknownIndicator(NotFound):
    """An indicator code not in the registry."""
