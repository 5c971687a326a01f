"""No privilege escalation: users, roles, flags and passwords, on every surface."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from accounts import roles
from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.services import (
    user_set_groups,
    user_set_password,
    user_set_permissions,
    user_set_roles,
    user_update,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def root(db):
    return User.objects.create_superuser(username="root", password="root-pw-1234", email="r@example.com")


def _change_form(user, **overrides):
    """The POST of the admin's user change form for `user`, with `overrides`."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [str(g.pk) for g in user.groups.all()],
        "user_permissions": [str(p.pk) for p in user.user_permissions.all()],
    }
    if user.is_staff:
        data["is_staff"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v != "" or k.startswith(("last_login", "first", "last_", "email"))}


# ---------------------------------------------------------------------------
# Predicates
# ---------------------------------------------------------------------------
def test_grantable_roles_are_those_whose_permissions_the_actor_holds(governance, admin_user, root):
    assert roles.can_grant_role(governance, Role.VIEWER)
    assert roles.can_grant_role(governance, Role.GOVERNANCE_ADMIN)
    assert not roles.can_grant_role(governance, Role.ADMIN)
    assert not roles.can_grant_role(governance, Role.ANALYST)  # launch, import, delete own: not held
    assert roles.can_grant_role(root, Role.ADMIN) and roles.can_grant_role(admin_user, Role.ANALYST)


def test_only_a_superuser_changes_a_superuser(governance, admin_user, root, viewer):
    assert not roles.can_change_user(governance, root)
    assert not roles.can_change_user(admin_user, root)
    assert roles.can_change_user(root, root) and roles.can_change_user(governance, viewer)


def test_nobody_changes_a_user_holding_more_than_themselves(governance, make_user):
    stronger = make_user(Role.ANALYST)
    assert not roles.can_change_user(governance, stronger)
    # An inactive account keeps its roles: reactivating it must not be a way round.
    stronger.is_active = False
    stronger.save()
    assert not roles.can_change_user(governance, stronger)


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
def test_governance_cannot_make_itself_superuser_or_staff_through_the_service(governance, make_user):
    with pytest.raises(PermissionDenied):
        user_update(actor=governance, user=governance, changes={"is_superuser": True})
    plain = make_user(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        user_update(actor=governance, user=plain, changes={"is_staff": True})
    governance.refresh_from_db()
    plain.refresh_from_db()
    assert not governance.is_superuser and not plain.is_staff


def test_governance_cannot_grant_a_role_or_permission_it_does_not_hold(governance, make_user):
    user = make_user(Role.VIEWER)
    with pytest.raises(PermissionDenied):
        user_set_roles(user=user, roles=[Role.ADMIN], actor=governance)
    with pytest.raises(PermissionDenied):
        user_set_roles(user=governance, roles=[Role.GOVERNANCE_ADMIN, Role.ANALYST], actor=governance)
    with pytest.raises(PermissionDenied):
        user_set_groups(user=user, groups=[Group.objects.get(name=Role.ML_ADMIN)], actor=governance)
    delete_run = Permission.objects.get(codename="delete_run")
    with pytest.raises(PermissionDenied):
        user_set_permissions(user=user, permissions=[delete_run], actor=governance)
    assert roles.roles_of(user) == [Role.VIEWER] and not user.user_permissions.exists()
    assert roles.roles_of(governance) == [Role.GOVERNANCE_ADMIN]


def test_governance_grants_what_it_holds_and_it_is_audited(governance, make_user):
    user = make_user()
    user_set_roles(user=user, roles=[Role.VIEWER], actor=governance)
    user_update(actor=governance, user=user, changes={"email": "new@example.com", "is_active": False})
    user_set_password(actor=governance, user=user, password="a-new-Password-42")
    user.refresh_from_db()
    assert roles.roles_of(user) == [Role.VIEWER] and user.email == "new@example.com" and not user.is_active
    assert user.check_password("a-new-Password-42")
    actions = set(AuditEvent.objects.filter(actor=governance, target=user.username).values_list("action", flat=True))
    assert {"user.set_roles", "user.update", "user.set_password"} <= actions
    detail = AuditEvent.objects.get(action="user.set_password", target=user.username).detail
    assert "a-new-Password-42" not in str(detail)


def test_governance_cannot_reset_a_superusers_password_through_the_service(governance, root):
    with pytest.raises(PermissionDenied):
        user_set_password(actor=governance, user=root, password="taken-over-Password-1")
    root.refresh_from_db()
    assert root.check_password("root-pw-1234")


# ---------------------------------------------------------------------------
# The admin
# ---------------------------------------------------------------------------
def test_admin_governance_cannot_set_its_own_superuser_flag_or_join_admin(client_for, governance):
    client = client_for(governance)
    admin_group = Group.objects.get(name=Role.ADMIN)
    own_groups = [str(g.pk) for g in governance.groups.all()]
    response = client.post(
        f"/admin/accounts/user/{governance.pk}/change/",
        _change_form(governance, is_superuser="on", is_staff="on", groups=own_groups + [str(admin_group.pk)]),
    )
    assert response.status_code in (200, 302, 403)
    governance.refresh_from_db()
    assert not governance.is_superuser
    assert roles.roles_of(governance) == [Role.GOVERNANCE_ADMIN]


def test_admin_superuser_flag_is_not_even_offered_to_governance(client_for, governance, viewer):
    response = client_for(governance).get(f"/admin/accounts/user/{viewer.pk}/change/")
    assert response.status_code == 200
    assert b'name="is_superuser"' not in response.content
    assert b'name="is_staff"' not in response.content
    offered = {g.name for g in response.context["adminform"].form.fields["groups"].queryset}
    assert Role.ADMIN not in offered and Role.ANALYST not in offered and Role.VIEWER in offered


def test_admin_governance_cannot_make_another_user_staff(client_for, governance, viewer):
    client_for(governance).post(f"/admin/accounts/user/{viewer.pk}/change/", _change_form(viewer, is_staff="on"))
    viewer.refresh_from_db()
    assert not viewer.is_staff


def test_admin_governance_cannot_change_or_reset_a_superuser(client_for, governance, root):
    client = client_for(governance)
    response = client.post(f"/admin/accounts/user/{root.pk}/change/", _change_form(root, email="evil@example.com"))
    assert response.status_code == 403
    response = client.post(
        f"/admin/accounts/user/{root.pk}/password/",
        {"password1": "taken-over-Password-1", "password2": "taken-over-Password-1", "usable_password": "true"},
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("root-pw-1234") and root.email == "r@example.com"


def test_admin_password_reset_goes_through_the_service_and_is_audited(client_for, governance, viewer):
    response = client_for(governance).post(
        f"/admin/accounts/user/{viewer.pk}/password/",
        {"password1": "a-new-Password-42", "password2": "a-new-Password-42", "usable_password": "true"},
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("a-new-Password-42")
    assert AuditEvent.objects.filter(action="user.set_password", actor=governance, target=viewer.username).exists()


def test_admin_change_is_audited(client_for, governance, viewer):
    viewer_group = Group.objects.get(name=Role.VIEWER)
    response = client_for(governance).post(
        f"/admin/accounts/user/{viewer.pk}/change/",
        _change_form(viewer, email="v@example.com", groups=[str(viewer_group.pk)]),
    )
    assert response.status_code == 302, response.content[:2000]
    viewer.refresh_from_db()
    assert viewer.email == "v@example.com"
    event = AuditEvent.objects.get(action="user.update", target=viewer.username)
    assert event.actor == governance and event.detail["changes"]["email"] == "v@example.com"


def test_admin_add_user_goes_through_the_service(client_for, governance):
    response = client_for(governance).post(
        "/admin/accounts/user/add/",
        {"username": "newbie", "password1": "a-new-Password-42", "password2": "a-new-Password-42", "usable_password": "true"},
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert not newbie.is_staff and not newbie.is_superuser and newbie.check_password("a-new-Password-42")
    assert AuditEvent.objects.filter(action="user.create", actor=governance, target="newbie").exists()


def test_admin_role_holder_without_superuser_cannot_set_the_superuser_flag(client_for, admin_user, viewer):
    client_for(admin_user).post(
        f"/admin/accounts/user/{viewer.pk}/change/", _change_form(viewer, is_superuser="on")
    )
    viewer.refresh_from_db()
    assert not viewer.is_superuser


def test_a_superuser_may_do_all_of_it_and_it_is_audited(client_for, root, viewer):
    admin_group = Group.objects.get(name=Role.ADMIN)
    response = client_for(root).post(
        f"/admin/accounts/user/{viewer.pk}/change/",
        _change_form(viewer, is_staff="on", is_superuser="on", groups=[str(admin_group.pk)]),
    )
    assert response.status_code == 302, response.content[:3000]
    viewer.refresh_from_db()
    assert viewer.is_superuser and viewer.is_staff and roles.roles_of(viewer) == [Role.ADMIN]
    assert AuditEvent.objects.filter(action="user.set_groups", actor=root, target=viewer.username).exists()


def test_group_permissions_cannot_be_widened_by_a_non_superuser(client_for, admin_user, governance):
    # The governance role group is edited by someone who holds everything but is not superuser:
    # allowed, and audited; governance cannot edit groups at all.
    group = Group.objects.get(name=Role.VIEWER)
    delete_run = Permission.objects.get(codename="delete_run")
    response = client_for(governance).post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": group.name, "permissions": [str(p.pk) for p in group.permissions.all()] + [str(delete_run.pk)]},
    )
    assert response.status_code == 403
    assert not group.permissions.filter(pk=delete_run.pk).exists()
    response = client_for(admin_user).post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": group.name, "permissions": [str(p.pk) for p in group.permissions.all()] + [str(delete_run.pk)]},
    )
    assert response.status_code == 302
    assert group.permissions.filter(pk=delete_run.pk).exists()
    assert AuditEvent.objects.filter(action="group.set_permissions", actor=admin_user, target=group.name).exists()
