"""HTTP routers of the insurance area (auto-discovered)."""

from yilian.insurance.audit.api import router as audit_router

routers = [audit_router]
