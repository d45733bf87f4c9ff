"""Tables of the insurance area found by auto-discovery: the smart insurance audit's tables.

(The settlement policy tables in ``policies.py`` are loaded and migrated with billing's.)
"""

from yilian.insurance.audit.models import (  # noqa: F401
    AuditClaimLine,
    AuditFinding,
    AuditFindingEvent,
    AuditRuleLibrary,
    AuditRun,
)
