"""HTTP routers of the insurance area (auto-discovered)."""

from yilian.insurance.audit.api import router as audit_router
from yilian.insurance.policy_api import router as policy_router

routers = [audit_router, policy_router]
