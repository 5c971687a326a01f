"""Console: users and roles, API keys, the audit trail, on pages, API, admin and commands."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, User
from accounts.roles import Role
from accounts.services import api_key_create, audit_record, user_deactivate, user_set_roles, user_update

pytestmark = pytest.mark.django_db

PAGES = ["console:users", "console:user_create", "console:roles", "console:audit", "console:audit_csv"]
API = ["/api/users/", "/api/roles/", "/api/audit/"]


def _signs_in(username: str) -> bool:
    """Through the login page, as a person would (302 onwards when accepted, the form again when not)."""
    response = Client().post(reverse("login"), {"username": username, "password": "pw-for-tests-1"})
    return response.status_code == 302


def _key_client(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {secret}", HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("role,allowed", [
    (Role.ADMIN, True), (Role.GOVERNANCE_ADMIN, True), (Role.ML_ADMIN, False), (Role.ANALYST, False),
    (Role.VIEWER, False), (Role.FINOPS_ADMIN, False), (Role.FINOPS_USER, False),
])
def test_governance_pages_and_api_by_role(role, allowed, make_user, client_for):
    client = client_for(make_user(role))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == (200 if allowed else 403), name
    for url in API:
        assert client.get(url, HTTP_ACCEPT="application/json").status_code == (200 if allowed else 403), url
    # Everyone manages their own API keys.
    assert client.get(reverse("console:api_keys")).status_code == 200
    assert client.get("/api/api-keys/", HTTP_ACCEPT="application/json").status_code == 200


def test_anonymous_is_sent_to_login_or_refused():
    client = Client()
    assert client.get(reverse("console:users")).status_code == 302
    assert client.get(reverse("console:api_keys")).status_code == 302
    assert client.get("/api/audit/", HTTP_ACCEPT="application/json").status_code == 401


def test_viewer_cannot_read_the_audit_trail(viewer, client_for):
    audit_record(actor=None, action="x.test", target="secret-target")
    client = client_for(viewer)
    response = client.get(reverse("console:audit"))
    assert response.status_code == 403 and b"secret-target" not in response.content
    assert client.get("/api/audit/").status_code == 403
    assert client.get(reverse("console:audit_csv")).status_code == 403


def test_governance_creates_a_user_with_a_role_shown_once(governance, client_for):
    client = client_for(governance)
    response = client.post(reverse("console:user_create"), {"username": "newbie", "roles": [Role.VIEWER]})
    assert response.status_code == 200
    password = response.context["password"]
    user = User.objects.get(username="newbie")
    assert user.check_password(password) and list(user.groups.values_list("name", flat=True)) == [Role.VIEWER]
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="user.create", target="newbie", surface="page").exists()


def test_governance_cannot_grant_a_role_it_does_not_hold(governance, client_for):
    """Governance holds no launch permission: it may not make analysts, let alone admins."""
    client = client_for(governance)
    response = client.post(reverse("console:user_create"), {"username": "sneaky", "roles": [Role.ANALYST]})
    assert response.status_code == 400
    response = client.post(reverse("console:user_create"), {"username": "sneaky", "roles": [Role.ADMIN]})
    assert response.status_code == 400
    assert not User.objects.filter(username="sneaky").exists()
    response = client.post("/api/users/", {"username": "sneaky", "roles": [Role.ADMIN]}, content_type="application/json")
    assert response.status_code == 403
    assert not User.objects.filter(username="sneaky").exists()


def test_user_list_filters_by_search_role_and_active(admin_user, make_user, client_for):
    make_user(Role.VIEWER, username="alice")
    bob = make_user(Role.ANALYST, username="bob")
    user_deactivate(actor=None, user=bob)
    client = client_for(admin_user)
    names = lambda params: [u["username"] for u in client.get("/api/users/", params).json()["results"]]  # noqa: E731
    assert names({"q": "ali"}) == ["alice"]
    assert names({"role": Role.ANALYST}) == ["bob"]
    assert "bob" not in names({"active": "true"}) and names({"active": "false"}) == ["bob"]
    assert client.get("/api/users/", {"role": "emperor"}).status_code == 400
    page = client.get(reverse("console:users"), {"q": "ali"})
    assert b"alice" in page.content and b">bob<" not in page.content


def test_deactivated_user_cannot_sign_in_and_keys_stop_at_once(admin_user, analyst, client_for):
    key, secret = api_key_create(owner=analyst, name="k")
    key_client = _key_client(secret)
    assert key_client.get("/api/runs/").status_code == 200
    session = client_for(analyst)
    assert session.get(reverse("runs:list")).status_code == 200
    admin = client_for(admin_user)
    assert admin.post(reverse("console:user_deactivate", args=[analyst.pk]), {}).status_code == 400  # no confirm
    assert User.objects.get(pk=analyst.pk).is_active
    response = admin.post(reverse("console:user_deactivate", args=[analyst.pk]), {"confirm": "1"})
    assert response.status_code == 302
    refused = key_client.get("/api/runs/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert session.get(reverse("runs:list")).status_code == 302  # the session has ended
    assert not _signs_in(analyst.username)
    analyst.refresh_from_db()
    assert analyst.runs is not None and User.objects.filter(pk=analyst.pk).exists()  # kept, for ownership
    event = AuditEvent.objects.get(action="user.deactivate", target=analyst.username)
    assert event.detail["api_keys_revoked"] == 1 and event.actor_name == admin_user.username
    # Restorable; the old key stays revoked.
    admin.post(reverse("console:user_restore", args=[analyst.pk]), {"confirm": "1"})
    assert _signs_in(analyst.username)
    assert key_client.get("/api/runs/").status_code == 401


def test_api_soft_delete_deactivates(admin_user, viewer, client_for):
    response = client_for(admin_user).delete(f"/api/users/{viewer.pk}/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert User.objects.filter(pk=viewer.pk, is_active=False).exists()


def test_last_admin_cannot_be_removed_nor_own_admin_role(admin_user, governance, client_for):
    # The only admin removes its own role: refused, nothing changed.
    with pytest.raises(PermissionDenied):
        user_set_roles(user=admin_user, roles=[Role.VIEWER], actor=admin_user)
    assert admin_user.groups.filter(name=Role.ADMIN).exists()
    with pytest.raises(PermissionDenied):
        user_deactivate(actor=admin_user, user=admin_user)
    # Ops (a command, no actor) cannot remove the last admin either.
    with pytest.raises(PermissionDenied, match="last admin"):
        user_update(actor=None, user=admin_user, changes={"is_active": False})
    with pytest.raises(PermissionDenied, match="last admin"):
        user_set_roles(user=admin_user, roles=[], actor=None)
    assert User.objects.get(pk=admin_user.pk).is_active
    response = client_for(admin_user).post(reverse("console:user_deactivate", args=[admin_user.pk]), {"confirm": "1"})
    assert response.status_code == 302 and User.objects.get(pk=admin_user.pk).is_active
    # With a second admin, the first may be deactivated by the second.
    other = User.objects.create_user(username="second", password="x", is_superuser=True)
    user_deactivate(actor=other, user=admin_user)
    assert not User.objects.get(pk=admin_user.pk).is_active


def test_roles_page_is_generated_from_the_predicates(admin_user, governance, client_for):
    response = client_for(admin_user).get(reverse("console:roles"))
    assert b"can_manage_users" in response.content and b"can_launch_run" in response.content
    data = client_for(admin_user).get("/api/roles/").json()
    by_role = {r["role"]: r for r in data["roles"]}
    assert by_role[Role.GOVERNANCE_ADMIN]["answers"]["can_view_audit"] is True
    assert by_role[Role.VIEWER]["answers"]["can_view_audit"] is False
    assert by_role[Role.ANALYST]["answers"]["can_launch_run"] is True
    assert governance.username in by_role[Role.GOVERNANCE_ADMIN]["holders"]


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
def test_a_user_creates_a_key_sees_it_once_and_uses_it(analyst, client_for):
    client = client_for(analyst)
    response = client.post(reverse("console:api_keys"), {"name": "laptop"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("rsk_") and response["Cache-Control"] == "no-store"
    listing = client.get(reverse("console:api_keys"))
    assert secret.encode() not in listing.content
    key = ApiKey.objects.get(owner=analyst)
    assert f"{key.prefix}…".encode() in listing.content
    for _ in range(3):
        assert _key_client(secret).get("/api/runs/").status_code == 200
    rows = client.get(reverse("console:api_keys")).context["rows"]
    assert rows[0][2] == 3  # three requests counted today, without a database write each


def test_expired_key_is_refused_saying_so(analyst):
    key, secret = api_key_create(owner=analyst, name="short", expires_at=timezone.now() + timedelta(hours=1))
    assert _key_client(secret).get("/api/runs/").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _key_client(secret).get("/api/runs/")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_revoked_key_is_refused_saying_so(analyst, client_for):
    key, secret = api_key_create(owner=analyst, name="k")
    assert client_for(analyst).post(f"/api/api-keys/{key.pk}/revoke/").status_code == 200
    response = _key_client(secret).get("/api/runs/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_others_keys_are_hidden_except_to_governance(analyst, viewer, governance, client_for):
    key, _ = api_key_create(owner=analyst, name="mine")
    assert client_for(viewer).post(reverse("console:api_key_revoke", args=[key.pk])).status_code == 404
    assert client_for(viewer).get(f"/api/api-keys/{key.pk}/").status_code == 404
    assert client_for(viewer).get("/api/api-keys/", {"scope": "all"}).json()["results"] == []
    gov = client_for(governance)
    assert [k["owner"] for k in gov.get("/api/api-keys/", {"scope": "all"}).json()["results"]] == [analyst.username]
    assert gov.post(reverse("console:api_key_revoke", args=[key.pk])).status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_api_key_api_create_with_expiry(viewer, client_for):
    client = client_for(viewer)
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert client.post("/api/api-keys/", {"name": "x", "expires_at": past}, content_type="application/json").status_code == 400
    response = client.post("/api/api-keys/", {"name": "ci"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["secret"].startswith("rsk_")


def test_usage_degrades_when_the_cache_is_down(analyst, client_for, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    key, secret = api_key_create(owner=analyst, name="k")  # Django's test signals rebuilt the cache handlers
    assert _key_client(secret).get("/api/runs/").status_code == 200
    response = client_for(analyst).get(reverse("console:api_keys"))
    assert response.status_code == 200 and b"unknown (cache unavailable)" in response.content


def test_api_keys_command(analyst, capsys):
    out = StringIO()
    call_command("api_keys", "create", "--user", analyst.username, "--name", "cron", "--expires-days", "7", stdout=out)
    assert "rsk_" in out.getvalue()
    key = ApiKey.objects.get(owner=analyst, name="cron")
    assert key.expires_at is not None
    out = StringIO()
    call_command("api_keys", "list", stdout=out)
    assert key.prefix in out.getvalue() and "rsk_" not in out.getvalue()
    call_command("api_keys", "revoke", key.prefix, stdout=StringIO())
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="api_key.revoke", surface="command").exists()
    with pytest.raises(CommandError):
        call_command("api_keys", "revoke", "nosuchkey", stdout=StringIO())


# ---------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------
def test_audit_entries_record_surface_and_address(admin_user, viewer, client_for):
    client_for(admin_user).post(reverse("console:user_deactivate", args=[viewer.pk]), {"confirm": "1"},
                                REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="user.deactivate")
    assert (event.surface, event.address, event.actor_name) == ("page", "10.1.2.3", admin_user.username)
    assert event.detail["before"] == {"is_active": True} and event.detail["after"] == {"is_active": False}


def test_no_surface_can_change_or_delete_an_audit_entry(admin_user, client_for):
    event = audit_record(actor=admin_user, action="x.test", target="t")
    client = client_for(admin_user)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(f"/api/audit/{event.pk}/", {}, content_type="application/json").status_code == 405
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "y"}).status_code == 403
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="y")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x.test"


def test_audit_verify_catches_an_edited_row(admin_user):
    from django.db import connection

    for n in range(4):
        audit_record(actor=admin_user, action=f"x.step{n}", target=str(n), detail={"n": n})
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue()
    victim = AuditEvent.objects.get(action="x.step2")
    with connection.cursor() as cursor:  # what someone with database access could do
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET target = %s WHERE id = %s", ["forged", victim.pk])
    with pytest.raises(CommandError, match=f"#{victim.pk}"):
        call_command("audit_verify", stdout=StringIO())


def test_audit_verify_catches_a_removed_row(admin_user):
    from django.db import connection

    for n in range(3):
        audit_record(actor=admin_user, action=f"x.step{n}")
    victim = AuditEvent.objects.get(action="x.step1")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError, match="link"):
        call_command("audit_verify", stdout=StringIO())


def test_audit_page_filters_and_csv_is_formula_safe(admin_user, client_for):
    audit_record(actor=admin_user, action="run.delete", target="=HYPERLINK(\"http://x\")")
    audit_record(actor=None, action="user.create", target="someone")
    client = client_for(admin_user)
    page = client.get(reverse("console:audit"), {"action": "run."})
    assert [e.action for e in page.context["page"]] == ["run.delete"]
    assert client.get(reverse("console:audit"), {"actor": admin_user.username}).context["page"].paginator.count == 1
    assert client.get(reverse("console:audit"), {"since": "not-a-day"}).status_code == 400
    csv_text = b"".join(client.get(reverse("console:audit_csv"), {"action": "run."}).streaming_content).decode()
    assert "'=HYPERLINK" in csv_text and "someone" not in csv_text
    api = client.get("/api/audit/", {"target": "someone"}).json()
    assert [e["action"] for e in api["results"]] == ["user.create"]


def test_console_menu_shown_by_role(admin_user, viewer, client_for):
    admin_page = client_for(admin_user).get(reverse("home")).content.decode()
    viewer_page = client_for(viewer).get(reverse("home")).content.decode()
    assert reverse("console:audit") in admin_page and reverse("console:users") in admin_page
    assert reverse("console:audit") not in viewer_page and reverse("console:users") not in viewer_page
    assert reverse("console:api_keys") in viewer_page


def test_run_page_says_who_has_access(analyst, viewer, client_for):
    from runs.services import run_create

    run = run_create(kind="demo", params={"steps": 1, "step_seconds": 0}, owner=analyst, enqueue=False)
    response = client_for(viewer).get(reverse("runs:detail", args=[run.run_id]))
    access = response.context["access"]
    rows = dict(access["rows"])
    assert rows["Viewer"]["see"] and not rows["Viewer"]["delete"]
    assert not rows["Analyst"]["delete"]  # an analyst deletes only their own runs…
    assert access["owner"] == (analyst.username, {"see": True, "annotate": True, "cancel": True, "delete": True,
                                                  "export": True})  # …which this one is
    assert rows["ML admin"]["delete"] and rows["ML admin"]["cancel"]
    assert not rows["FinOps user"]["see"]
    assert b'id="run-access"' in response.content


def test_clone_and_launch_are_audited(analyst):
    from runs.services import run_clone, run_create

    source = run_create(kind="demo", params={"steps": 2, "step_seconds": 0, "seed": 1}, owner=analyst, enqueue=False)
    clone = run_clone(run=source, actor=analyst, params={"seed": 5})
    launch = AuditEvent.objects.get(action="run.create", target=source.run_id)
    assert launch.detail["kind"] == "demo" and launch.detail["parent"] is None
    event = AuditEvent.objects.get(action="run.clone", target=clone.run_id)
    assert event.detail == {"source": source.run_id, "before": {"seed": 1}, "after": {"seed": 5}}


def test_every_command_audits_with_surface_command(analyst):
    call_command("create_api_key", analyst.username, "--name", "ops", stdout=StringIO())
    event = AuditEvent.objects.get(action="api_key.create")
    assert event.surface == "command" and event.actor_name == ""
