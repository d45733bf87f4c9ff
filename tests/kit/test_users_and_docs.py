"""User management over HTTP (edit, disable, reset a password: permission and audit) and the API's own
documentation served without a CDN."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import PASSWORD, bearer, make_institution, make_user
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role

NEW_PASSWORD = "Reset@2026x"


def test_admin_edits_disables_and_resets_a_user(client: TestClient, session: Session) -> None:
    hospital, other = make_institution(session), make_institution(session)
    admin = make_user(session, role=Role.ADMIN)
    nurse = make_user(session, role=Role.NURSE, institution=hospital)
    headers = bearer(client, admin)
    nurse_headers = bearer(client, nurse)

    changed = client.patch(
        f"/api/v1/users/{nurse.id}",
        json={"display_name": "护士 王芳", "role": "registrar", "institution_id": other.id},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "registrar" and changed.json()["institution_id"] == other.id

    # disabled: the open session ends and logging in is refused
    assert (
        client.patch(f"/api/v1/users/{nurse.id}", json={"is_active": False}, headers=headers).status_code
        == 200
    )
    assert client.get("/api/v1/auth/me", headers=nurse_headers).status_code == 401
    refused = client.post("/api/v1/auth/token", json={"username": nurse.username, "password": PASSWORD})
    assert refused.status_code == 401

    # enabled again with a new password set by the administrator: only the new one works
    reset = client.patch(
        f"/api/v1/users/{nurse.id}", json={"is_active": True, "new_password": NEW_PASSWORD}, headers=headers
    )
    assert reset.status_code == 200, reset.text
    assert (
        client.post("/api/v1/auth/token", json={"username": nurse.username, "password": PASSWORD}).status_code
        == 401
    )
    bearer(client, nurse, NEW_PASSWORD)

    reasons = [
        r.reason
        for r in session.scalars(
            select(AccessAudit).where(AccessAudit.action == "user_update").order_by(AccessAudit.id)
        )
    ]
    assert reasons == ["姓名、角色、所属机构", "停用", "启用、重置密码"]
    assert all(NEW_PASSWORD not in r for r in reasons)


def test_user_management_needs_the_permission_and_good_input(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    admin = make_user(session, role=Role.ADMIN)
    doctor = make_user(session, role=Role.DOCTOR, institution=hospital)
    nurse = make_user(session, role=Role.NURSE, institution=hospital)
    refused = client.patch(
        f"/api/v1/users/{nurse.id}", json={"is_active": False}, headers=bearer(client, doctor)
    )
    assert refused.status_code == 403
    headers = bearer(client, admin)
    weak = client.patch(f"/api/v1/users/{nurse.id}", json={"new_password": "123"}, headers=headers)
    assert weak.status_code == 400 and weak.json()["title"]
    assert (
        client.patch(f"/api/v1/users/{admin.id}", json={"is_active": False}, headers=headers).status_code
        == 400
    )
    session.refresh(nurse)
    assert nurse.is_active and nurse.role == "nurse"


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    for path in ("/api/docs", "/api/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert "/api/openapi.json" in page.text
    assert client.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs-assets/redoc.standalone.js").status_code == 200
    moved = client.get("/openapi.json", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/api/openapi.json"
    assert client.get("/openapi.json").json()["info"]["title"].startswith("yilian")


def test_every_access_audit_action_has_a_chinese_name() -> None:
    """The access-audit page shows an action by its Chinese name; every action the code records has one."""
    import re
    from pathlib import Path

    import yilian
    from yilian.kit.access_log import ACTION_LABELS

    root = Path(yilian.__file__).parent
    used = {
        m.group(1)
        for path in root.rglob("*.py")
        for m in re.finditer(r'action="([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert used, "no action found: the scan is broken"
    assert used - set(ACTION_LABELS) == set()
