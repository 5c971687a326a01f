"""The exclusive editing lock, in the services every surface calls."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from projects import services
from projects.models import Experiment, ProjectLock
from projects.selectors import project_lock_state

pytestmark = pytest.mark.django_db


def test_it_gives_the_creator_the_lock(owner: Any) -> None:
    project = services.project_create(actor=owner, name="P1")
    state = project_lock_state(project=project, user=owner)
    assert state.holder == owner.username and state.held_by_me


def test_it_refuses_an_edit_while_another_member_holds_the_lock(project: Any, owner: Any, member: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(services.ProjectLocked, match="being edited by max"):
        services.project_update(actor=owner, project=project, changes={"description": "changed"})
    with pytest.raises(services.ProjectLocked):
        services.experiment_create(actor=owner, project=project, name="e1")
    project.refresh_from_db()
    assert project.description == "Q4"
    assert not Experiment.objects.exists()
    state = project_lock_state(project=project, user=owner)
    assert state.holder == "max" and not state.held_by_me and state.taken_at is not None


def test_an_edit_on_a_free_lock_takes_it_and_renews_it(project: Any, owner: Any) -> None:
    services.project_update(actor=owner, project=project, changes={"description": "new"})
    lock = ProjectLock.objects.get(project=project)
    first = lock.last_active_at
    services.experiment_create(actor=owner, project=project, name="e1")
    lock.refresh_from_db()
    assert lock.holder == owner and lock.last_active_at >= first


def test_it_expires_after_the_idle_time(project: Any, owner: Any, member: Any, settings: Any) -> None:
    settings.PROJECT_LOCK_IDLE_SECONDS = 60
    services.project_lock_take(actor=member, project=project)
    ProjectLock.objects.filter(project=project).update(last_active_at=timezone.now() - timedelta(seconds=61))
    assert not project_lock_state(project=project, user=owner).held
    services.project_update(actor=owner, project=project, changes={"description": "after expiry"})
    assert ProjectLock.objects.get(project=project).holder == owner
    take = AuditEvent.objects.filter(action="project.lock_take").first()
    assert take.detail["expired_lock_of"] == "max"


def test_it_does_not_expire_while_active(project: Any, owner: Any, member: Any, settings: Any) -> None:
    settings.PROJECT_LOCK_IDLE_SECONDS = 60
    services.project_lock_take(actor=member, project=project)
    ProjectLock.objects.filter(project=project).update(last_active_at=timezone.now() - timedelta(seconds=59))
    with pytest.raises(services.ProjectLocked):
        services.project_lock_take(actor=owner, project=project)


def test_only_the_holder_releases(project: Any, owner: Any, member: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(PermissionDenied, match="held by max"):
        services.project_lock_release(actor=owner, project=project)
    services.project_lock_release(actor=member, project=project)
    assert not ProjectLock.objects.exists()


def test_only_an_admin_breaks_it_and_it_is_audited(project: Any, owner: Any, member: Any, admin_user: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    for refused in (owner, member):
        with pytest.raises(PermissionDenied, match="Only an admin"):
            services.project_lock_break(actor=refused, project=project)
    assert ProjectLock.objects.filter(project=project).exists()
    assert services.project_lock_break(actor=admin_user, project=project) == "max"
    event = AuditEvent.objects.get(action="project.lock_break")
    assert event.actor == admin_user and event.detail["holder"] == "max" and event.detail["was_live"] is True
    services.project_update(actor=owner, project=project, changes={"description": "mine now"})


def test_a_command_never_edits_over_a_live_lock(project: Any, member: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(services.ProjectLocked):
        services.project_update(actor=None, project=project, changes={"description": "ops"})


def test_a_refused_edit_leaves_the_lock_as_it_was(project: Any, owner: Any) -> None:
    services.experiment_create(actor=owner, project=project, name="dup")
    services.project_lock_release(actor=owner, project=project)
    with pytest.raises(ValidationError):
        services.experiment_create(actor=owner, project=project, name="dup")
    assert not ProjectLock.objects.exists()
