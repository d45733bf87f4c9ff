"""Pages of the insurance area (auto-discovered): the smart insurance audit's pages and the insurance
office's policy tables."""

from yilian.insurance import policy_pages  # noqa: F401
from yilian.insurance.audit import pages as audit_pages  # noqa: F401
