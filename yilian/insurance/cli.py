"""``yilian audit ...`` — the insurance area's commands (auto-discovered)."""

from yilian.insurance.audit.cli import app

NAME = "audit"

__all__ = ["NAME", "app"]
