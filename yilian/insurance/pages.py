"""Pages of the insurance area (auto-discovered): the smart insurance audit's pages."""

from yilian.insurance.audit import pages as audit_pages  # noqa: F401
