"""The role matrix: groups, permissions and predicates."""
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts import roles
from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.services import api_key_create, roles_sync, user_set_roles
from runs.models import Run

pytestmark = pytest.mark.django_db


def test_every_role_exists_as_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_setup_roles_is_idempotent_and_repairs_drift(capsys):
    viewer = Group.objects.get(name=Role.VIEWER)
    viewer.permissions.clear()
    call_command("setup_roles")
    first = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    call_command("setup_roles")
    second = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert first == second
    assert first[Role.VIEWER] == {"view_run"}
    assert "7 roles in place" in capsys.readouterr().out


def test_the_matrix_for_runs(viewer, analyst, ml_admin, admin_user, governance, finops_admin, make_user):
    mine = Run(owner_id=analyst.id)
    theirs = Run(owner_id=ml_admin.id)
    assert [roles.can_view_runs(u) for u in (viewer, analyst, ml_admin, admin_user, governance, finops_admin)] == [
        True, True, True, True, True, False,
    ]
    assert [roles.can_launch_run(u) for u in (viewer, analyst, ml_admin, admin_user, governance, finops_admin)] == [
        False, True, True, True, False, False,
    ]
    assert roles.can_delete_run(analyst, mine) and not roles.can_delete_run(analyst, theirs)
    assert roles.can_delete_run(ml_admin, mine) and roles.can_delete_run(admin_user, theirs)
    assert not roles.can_delete_run(viewer, mine)
    assert [roles.can_import_runs(u) for u in (viewer, analyst, governance)] == [False, True, False]
    assert [roles.can_cleanup_runs(u) for u in (analyst, ml_admin, admin_user)] == [False, True, True]


def test_the_matrix_for_governance_and_console(viewer, ml_admin, admin_user, governance):
    assert roles.can_manage_users(governance) and roles.can_manage_users(admin_user)
    assert not roles.can_manage_users(ml_admin) and not roles.can_manage_users(viewer)
    assert roles.can_view_console(governance) and not roles.can_manage_console(governance)
    assert roles.can_manage_console(ml_admin) and not roles.can_view_console(viewer)


def test_anonymous_users_may_do_nothing():
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    assert not roles.can_view_runs(anon) and not roles.can_launch_run(anon)
    assert not roles.can_delete_run(anon, Run(owner_id=None))
    assert list(Run.objects.visible_to(anon)) == []


def test_a_user_may_hold_several_roles(make_user):
    user = make_user(Role.VIEWER, Role.FINOPS_ADMIN)
    assert roles.can_view_runs(user) and roles.roles_of(user) == ["viewer", "finops_admin"]


def test_setting_roles_is_audited_and_refuses_unknown_roles(make_user, governance):
    user = make_user()
    user_set_roles(user=user, roles=["viewer"], actor=governance)
    assert roles.roles_of(user) == ["viewer"]
    assert AuditEvent.objects.filter(action="user.set_roles", target=user.username, actor=governance).exists()
    with pytest.raises(ValueError, match="Unknown role"):
        user_set_roles(user=user, roles=["wizard"], actor=governance)


def test_api_keys_store_only_a_hash(analyst):
    key, secret = api_key_create(owner=analyst, name="laptop")
    assert secret.startswith("rsk_") and secret not in key.key_hash and key.prefix == secret[4:12]
    assert roles.can_manage_api_key(analyst, key)


def test_roles_sync_counts(db):
    counts = roles_sync()
    assert counts[Role.VIEWER] == 1 and counts[Role.ADMIN] > counts[Role.ML_ADMIN] > counts[Role.ANALYST]
