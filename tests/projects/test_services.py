"""Projects, members, experiments, datasets and runs filed, with their roles."""
from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from projects import services
from projects.models import Project, ProjectMember, RunPlacement
from projects.selectors import project_timeline

pytestmark = pytest.mark.django_db


def test_analysts_and_ml_admins_create_projects_viewers_do_not(make_user: Any, viewer: Any) -> None:
    from accounts.roles import Role

    for role in (Role.ANALYST, Role.ML_ADMIN, Role.ADMIN):
        user = make_user(role)
        project = services.project_create(actor=user, name=f"by {role}")
        assert project.owner == user and ProjectMember.objects.filter(project=project, user=user).exists()
    with pytest.raises(PermissionDenied):
        services.project_create(actor=viewer, name="viewer's")
    assert not Project.objects.filter(name="viewer's").exists()


def test_it_refuses_a_duplicate_or_empty_name(owner: Any, project: Any) -> None:
    with pytest.raises(ValidationError, match="already exists"):
        services.project_create(actor=owner, name="basel BOOK review")
    with pytest.raises(ValidationError, match="needs a name"):
        services.project_create(actor=owner, name="   ")


def test_a_non_member_cannot_edit(project: Any, outsider: Any) -> None:
    with pytest.raises(PermissionDenied, match="only its members"):
        services.project_update(actor=outsider, project=project, changes={"description": "x"})
    with pytest.raises(PermissionDenied):
        services.experiment_create(actor=outsider, project=project, name="e")
    with pytest.raises(PermissionDenied):
        services.project_lock_take(actor=outsider, project=project)


def test_an_admin_edits_any_project(project: Any, admin_user: Any) -> None:
    services.project_update(actor=admin_user, project=project, changes={"name": "Renamed"})
    project.refresh_from_db()
    assert project.name == "Renamed"


def test_members_are_added_and_removed_but_not_the_owner(project: Any, owner: Any, outsider: Any) -> None:
    services.project_member_add(actor=owner, project=project, user=outsider)
    assert project.has_member(outsider)
    services.project_member_remove(actor=owner, project=project, user=outsider)
    assert not project.has_member(outsider)
    with pytest.raises(ValidationError, match="owns the project"):
        services.project_member_remove(actor=owner, project=project, user=owner)


def test_experiments_are_created_updated_and_archived(project: Any, owner: Any) -> None:
    experiment = services.experiment_create(
        actor=owner, project=project, name="lcr-sweep", purpose="LCR sensitivity", parameters={"seed": 1}
    )
    services.experiment_update(actor=owner, experiment=experiment, changes={"status": "archived"})
    experiment.refresh_from_db()
    assert experiment.status == "archived" and experiment.parameters == {"seed": 1}
    with pytest.raises(ValidationError, match="Status is one of"):
        services.experiment_update(actor=owner, experiment=experiment, changes={"status": "gone"})
    with pytest.raises(ValidationError, match="JSON object"):
        services.experiment_create(actor=owner, project=project, name="bad", parameters=[1, 2])  # type: ignore[arg-type]


def test_a_run_is_filed_under_a_project_and_experiment(project: Any, owner: Any, demo_run: Any) -> None:
    experiment = services.experiment_create(actor=owner, project=project, name="e1")
    services.project_lock_release(actor=owner, project=project)
    placement = services.run_place(actor=owner, run=demo_run, project=project, experiment=experiment)
    assert placement.experiment == experiment
    assert RunPlacement.objects.get(run=demo_run).project == project


def test_a_run_is_filed_while_another_member_holds_the_lock(project: Any, owner: Any, member: Any, demo_run: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    services.run_place(actor=owner, run=demo_run, project=project)
    assert RunPlacement.objects.filter(run=demo_run, project=project).exists()


def test_a_non_member_cannot_file_a_run(project: Any, outsider: Any, demo_run: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.run_place(actor=outsider, run=demo_run, project=project)
    assert not RunPlacement.objects.exists()


def test_an_experiment_of_another_project_is_refused(project: Any, owner: Any, demo_run: Any) -> None:
    other = services.project_create(actor=owner, name="other")
    experiment = services.experiment_create(actor=owner, project=other, name="e-other")
    with pytest.raises(ValidationError, match="another project"):
        services.run_place(actor=owner, run=demo_run, project=project, experiment=experiment)


def test_the_timeline_reads_the_audit_trail(project: Any, owner: Any, demo_run: Any) -> None:
    services.experiment_create(actor=owner, project=project, name="e1")
    services.run_place(actor=owner, run=demo_run, project=project)
    actions = [event.action for event in project_timeline(project=project)]
    assert actions[:3] == ["project.run_place", "project.experiment_create", "project.lock_take"]
    assert "project.create" in actions
    assert AuditEvent.objects.filter(action="project.create", actor=owner).exists()
