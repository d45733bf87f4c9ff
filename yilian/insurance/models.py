"""Tables of the insurance area found by auto-discovery: the settlement policy tables (``policy_models``)
and the smart insurance audit's tables.

The policy tables were first created by migration ``billing_0002`` (before the insurance area had its
own branch); migrations are frozen, so that is where their history stays, but they are the insurance
area's tables and load with its models, not through billing's.
"""

from yilian.insurance.audit.models import (  # noqa: F401
    AuditClaimLine,
    AuditFinding,
    AuditFindingEvent,
    AuditRuleLibrary,
    AuditRun,
)
from yilian.insurance.policy_models import InsurancePolicy, InsuranceYear, PersonalAccount  # noqa: F401
