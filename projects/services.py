"""Writes of projects: metadata, members, experiments, datasets, runs filed, and the editing lock.

Every surface (pages, API, admin, commands) calls these, so the rules hold everywhere:

- roles come from accounts/roles.py (`can_edit_project`: members who may edit, admin always);
- editing a project's metadata, members, experiments and datasets needs its exclusive
  lock. An edit by someone while the lock is free takes it for them (so a member never
  has to ask for a free lock before typing); while another member holds a live lock the
  edit is refused with ProjectLocked, naming the holder and since when. A lock idle for
  longer than PROJECT_LOCK_IDLE_SECONDS is free. Only an admin breaks a live lock.
- filing a run under a project is not an edit of the project: it needs membership, not the lock,
  so that members keep launching runs while one of them edits the description.

`actor` None is an operator's command on the server; it is allowed everything except
overriding another member's live lock.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import roles
from accounts.services import audit_record
from projects.models import Experiment, ExperimentStatus, Project, ProjectDataset, ProjectLock, ProjectMember, RunPlacement

NAME_MAX = 120
EXPERIMENT_PARAMETERS_MAX_KEYS = 200


class ProjectLocked(PermissionDenied):
    """Someone else holds the project's editing lock; nothing was changed."""

    def __init__(self, lock: ProjectLock) -> None:
        self.holder = lock.holder
        self.taken_at = lock.taken_at
        super().__init__(
            f"{lock.project.name} is being edited by {lock.holder.get_username()} "
            f"(lock taken {lock.taken_at:%Y-%m-%d %H:%M} UTC, last active {lock.last_active_at:%H:%M:%S} UTC); "
            "you can read it but not edit it until they release the lock or it expires."
        )


def target_of(project: Project) -> str:
    """The audit trail's name for a project; its timeline reads every entry under it."""
    return f"project:{project.uid}"


def _lock_idle() -> timedelta:
    return timedelta(seconds=settings.PROJECT_LOCK_IDLE_SECONDS)


def lock_is_live(lock: ProjectLock | None, now: datetime | None = None) -> bool:
    """A lock counts until it has been idle for PROJECT_LOCK_IDLE_SECONDS."""
    if lock is None:
        return False
    return lock.last_active_at > (now or timezone.now()) - _lock_idle()


def _require_edit(project: Project, actor: Any) -> None:
    if actor is not None and not roles.can_edit_project(actor, project):
        raise PermissionDenied(f"You may not edit the project {project.name}: only its members (and admins) may.")


def _current_lock(project: Project) -> ProjectLock | None:
    # The project row is locked first, so that two takers of a free lock take turns.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    return ProjectLock.objects.select_related("holder", "project").filter(project=project).first()


def lock_hold(project: Project, actor: Any) -> None:
    """Make sure `actor` holds the lock now (taking a free or expired one, renewing their own).

    Called inside the edit's transaction, so a refused edit changes nothing and a
    rolled-back edit leaves the lock as it was.
    """
    now = timezone.now()
    lock = _current_lock(project)
    if actor is None:
        # An operator edits without holding the lock, but never over a member's live lock.
        if lock_is_live(lock, now):
            raise ProjectLocked(lock)
        return
    if lock is not None and lock.holder_id == actor.pk and lock_is_live(lock, now):
        ProjectLock.objects.filter(pk=lock.pk).update(last_active_at=now)
        return
    if lock_is_live(lock, now):
        raise ProjectLocked(lock)
    expired_holder = lock.holder.get_username() if lock is not None else None
    ProjectLock.objects.update_or_create(
        project=project, defaults={"holder": actor, "taken_at": now, "last_active_at": now}
    )
    detail: dict[str, Any] = {"project": project.name}
    if expired_holder:
        detail["expired_lock_of"] = expired_holder
    audit_record(actor=actor, action="project.lock_take", target=target_of(project), detail=detail)


def project_edit_check(*, actor: Any, project: Project) -> None:
    """Raise what an edit by `actor` would be refused with now (roles, then the lock); change nothing.

    Lets a form (the admin's) show the refusal as an error before it saves; the edit's own
    service checks again under the row lock.
    """
    _require_edit(project, actor)
    lock = ProjectLock.objects.select_related("holder", "project").filter(project=project).first()
    if lock_is_live(lock) and (actor is None or lock.holder_id != actor.pk):
        raise ProjectLocked(lock)


def _touch(project: Project) -> None:
    Project.objects.filter(pk=project.pk).update(updated_at=timezone.now())


def _clean_name(value: Any, what: str) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationError({"name": [f"A {what} needs a name."]})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": [f"A {what} name has at most {NAME_MAX} characters."]})
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError({"name": [f"A {what} name cannot hold control characters."]})
    return name


def _clean_text(value: Any, field: str, limit: int = 10_000) -> str:
    text = str(value or "")
    if "\x00" in text:
        raise ValidationError({field: ["Text cannot hold a NUL character."]})
    if len(text) > limit:
        raise ValidationError({field: [f"At most {limit:,} characters."]})
    return text


def _clean_mapping(value: Any, field: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({field: ["Expected a JSON object of names to values."]})
    if len(value) > EXPERIMENT_PARAMETERS_MAX_KEYS:
        raise ValidationError({field: [f"At most {EXPERIMENT_PARAMETERS_MAX_KEYS} entries."]})
    for key in value:
        if not isinstance(key, str) or not key.strip() or "\x00" in key:
            raise ValidationError({field: ["Every name must be a non-empty text."]})
    return value


# ---------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------
@transaction.atomic
def project_create(*, actor: Any, name: str, description: str = "", members: Iterable[Any] = ()) -> Project:
    """Create a project owned by `actor`, who becomes its first member and holds its lock."""
    if actor is not None and not roles.can_create_project(actor):
        raise PermissionDenied("You may not create projects.")
    name = _clean_name(name, "project")
    if Project.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"A project named {name!r} already exists."]})
    project = Project.objects.create(
        name=name, description=_clean_text(description, "description"), owner=actor if actor is not None else None
    )
    people = {m.pk: m for m in members}
    if actor is not None:
        people.setdefault(actor.pk, actor)
    ProjectMember.objects.bulk_create([ProjectMember(project=project, user=u) for u in people.values()])
    audit_record(
        actor=actor, action="project.create", target=target_of(project),
        detail={"name": name, "members": sorted(u.get_username() for u in people.values())},
    )
    if actor is not None:
        lock_hold(project, actor)
    return project


@transaction.atomic
def project_update(*, actor: Any, project: Project, changes: dict[str, Any]) -> Project:
    """Change the name and/or description (holding the lock)."""
    _require_edit(project, actor)
    unknown = set(changes) - {"name", "description"}
    if unknown:
        raise ValidationError({"__all__": [f"Cannot change {', '.join(sorted(unknown))} here."]})
    lock_hold(project, actor)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if "name" in changes:
        name = _clean_name(changes["name"], "project")
        if name != project.name:
            if Project.objects.filter(name__iexact=name).exclude(pk=project.pk).exists():
                raise ValidationError({"name": [f"A project named {name!r} already exists."]})
            before["name"], after["name"] = project.name, name
            project.name = name
    if "description" in changes:
        description = _clean_text(changes["description"], "description")
        if description != project.description:
            before["description"], after["description"] = project.description, description
            project.description = description
    if after:
        project.updated_at = timezone.now()
        project.save(update_fields=["name", "description", "updated_at"])
        audit_record(actor=actor, action="project.update", target=target_of(project),
                     detail={"before": before, "after": after})
    return project


@transaction.atomic
def project_delete(*, actor: Any, project: Project) -> None:
    """Delete a project with its experiments and placements (its runs and datasets stay)."""
    _require_edit(project, actor)
    lock_hold(project, actor)
    target, name = target_of(project), project.name
    placed = project.placements.count()
    project.delete()
    audit_record(actor=actor, action="project.delete", target=target, detail={"name": name, "runs_unfiled": placed})


@transaction.atomic
def project_member_add(*, actor: Any, project: Project, user: Any) -> ProjectMember:
    _require_edit(project, actor)
    lock_hold(project, actor)
    if not getattr(user, "is_active", False):
        raise ValidationError({"user": ["Only an active account can be a member."]})
    member, created = ProjectMember.objects.get_or_create(project=project, user=user)
    if created:
        _touch(project)
        audit_record(actor=actor, action="project.member_add", target=target_of(project),
                     detail={"member": user.get_username()})
    return member


@transaction.atomic
def project_member_remove(*, actor: Any, project: Project, user: Any) -> None:
    _require_edit(project, actor)
    lock_hold(project, actor)
    if project.owner_id == user.pk:
        raise ValidationError({"user": [f"{user.get_username()} owns the project and stays a member."]})
    deleted, _ = ProjectMember.objects.filter(project=project, user=user).delete()
    if deleted:
        _touch(project)
        audit_record(actor=actor, action="project.member_remove", target=target_of(project),
                     detail={"member": user.get_username()})


def project_member_by_username(username: str) -> Any:
    """The active account named `username`, or a ValidationError naming it."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"user": [f"No active account named {username!r}."]})
    return user


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------
@transaction.atomic
def experiment_create(
    *, actor: Any, project: Project, name: str, purpose: str = "", parameters: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
) -> Experiment:
    _require_edit(project, actor)
    lock_hold(project, actor)
    name = _clean_name(name, "experiment")
    if project.experiments.filter(name=name).exists():
        raise ValidationError({"name": [f"The project already has an experiment named {name!r}."]})
    experiment = Experiment.objects.create(
        project=project, name=name, purpose=_clean_text(purpose, "purpose"),
        parameters=_clean_mapping(parameters, "parameters"), tags=_clean_mapping(tags, "tags"),
        created_by=actor if actor is not None else None,
    )
    _touch(project)
    audit_record(actor=actor, action="project.experiment_create", target=target_of(project),
                 detail={"experiment": name, "experiment_uid": str(experiment.uid)})
    return experiment


@transaction.atomic
def experiment_update(*, actor: Any, experiment: Experiment, changes: dict[str, Any]) -> Experiment:
    """Change an experiment's name, purpose, parameters, tags or status (active/archived)."""
    project = experiment.project
    _require_edit(project, actor)
    unknown = set(changes) - {"name", "purpose", "parameters", "tags", "status"}
    if unknown:
        raise ValidationError({"__all__": [f"Cannot change {', '.join(sorted(unknown))} here."]})
    lock_hold(project, actor)
    cleaned: dict[str, Any] = {}
    if "name" in changes:
        cleaned["name"] = _clean_name(changes["name"], "experiment")
        if project.experiments.filter(name=cleaned["name"]).exclude(pk=experiment.pk).exists():
            raise ValidationError({"name": [f"The project already has an experiment named {cleaned['name']!r}."]})
    if "purpose" in changes:
        cleaned["purpose"] = _clean_text(changes["purpose"], "purpose")
    if "parameters" in changes:
        cleaned["parameters"] = _clean_mapping(changes["parameters"], "parameters")
    if "tags" in changes:
        cleaned["tags"] = _clean_mapping(changes["tags"], "tags")
    if "status" in changes:
        if changes["status"] not in ExperimentStatus.values:
            raise ValidationError({"status": [f"Status is one of {', '.join(ExperimentStatus.values)}."]})
        cleaned["status"] = changes["status"]
    before = {k: getattr(experiment, k) for k, v in cleaned.items() if getattr(experiment, k) != v}
    if before:
        for key in before:
            setattr(experiment, key, cleaned[key])
        experiment.updated_at = timezone.now()
        experiment.save()
        _touch(project)
        audit_record(
            actor=actor, action="project.experiment_update", target=target_of(project),
            detail={"experiment": experiment.name, "experiment_uid": str(experiment.uid), "before": before,
                    "after": {k: cleaned[k] for k in before}},
        )
    return experiment


@transaction.atomic
def experiment_delete(*, actor: Any, experiment: Experiment) -> None:
    """Delete an experiment; its runs stay filed under the project, without an experiment."""
    project = experiment.project
    _require_edit(project, actor)
    lock_hold(project, actor)
    name, uid = experiment.name, str(experiment.uid)
    experiment.delete()
    _touch(project)
    audit_record(actor=actor, action="project.experiment_delete", target=target_of(project),
                 detail={"experiment": name, "experiment_uid": uid})


# ---------------------------------------------------------------------------
# Runs filed under a project
# ---------------------------------------------------------------------------
@transaction.atomic
def run_place(*, actor: Any, run: Any, project: Project, experiment: Experiment | None = None) -> RunPlacement:
    """File `run` under `project` (and one of its experiments), moving it from where it was.

    Needs membership of the project (and of the one it leaves), not the lock; the run
    must be visible to the actor.
    """
    from runs.models import Run

    _require_edit(project, actor)
    if actor is not None and not Run.objects.visible_to(actor).filter(pk=run.pk).exists():
        raise PermissionDenied("You may not see this run.")
    if experiment is not None and experiment.project_id != project.pk:
        raise ValidationError({"experiment": [f"The experiment {experiment.name!r} belongs to another project."]})
    if experiment is not None and experiment.status != ExperimentStatus.ACTIVE:
        raise ValidationError({"experiment": [f"The experiment {experiment.name!r} is archived."]})
    previous = RunPlacement.objects.select_related("project").filter(run=run).first()
    if previous is not None and previous.project_id != project.pk:
        _require_edit(previous.project, actor)
    placement, _ = RunPlacement.objects.update_or_create(
        run=run, defaults={"project": project, "experiment": experiment, "placed_at": timezone.now()}
    )
    audit_record(
        actor=actor, action="project.run_place", target=target_of(project),
        detail={"run": run.run_id, "experiment": experiment.name if experiment else None,
                **({"moved_from": previous.project.name} if previous and previous.project_id != project.pk else {})},
    )
    return placement


@transaction.atomic
def run_unplace(*, actor: Any, run: Any) -> None:
    placement = RunPlacement.objects.select_related("project").filter(run=run).first()
    if placement is None:
        return
    _require_edit(placement.project, actor)
    placement.delete()
    audit_record(actor=actor, action="project.run_unplace", target=target_of(placement.project),
                 detail={"run": run.run_id})


# ---------------------------------------------------------------------------
# Datasets attached (by name: every version follows)
# ---------------------------------------------------------------------------
@transaction.atomic
def project_dataset_attach(*, actor: Any, project: Project, dataset_name: str) -> ProjectDataset:
    from simulations.models import Dataset

    _require_edit(project, actor)
    lock_hold(project, actor)
    name = str(dataset_name or "").strip()
    if not Dataset.objects.filter(name=name).exists():
        raise ValidationError({"dataset": [f"No dataset named {name!r}."]})
    try:
        with transaction.atomic():
            link, created = ProjectDataset.objects.get_or_create(
                project=project, dataset_name=name, defaults={"attached_by": actor}
            )
    except IntegrityError:
        link, created = ProjectDataset.objects.get(project=project, dataset_name=name), False
    if created:
        _touch(project)
        audit_record(actor=actor, action="project.dataset_attach", target=target_of(project), detail={"dataset": name})
    return link


@transaction.atomic
def project_dataset_detach(*, actor: Any, project: Project, dataset_name: str) -> None:
    _require_edit(project, actor)
    lock_hold(project, actor)
    deleted, _ = ProjectDataset.objects.filter(project=project, dataset_name=dataset_name).delete()
    if deleted:
        _touch(project)
        audit_record(actor=actor, action="project.dataset_detach", target=target_of(project),
                     detail={"dataset": dataset_name})


# ---------------------------------------------------------------------------
# The editing lock
# ---------------------------------------------------------------------------
@transaction.atomic
def project_lock_take(*, actor: Any, project: Project) -> ProjectLock:
    """Take the lock (or renew one's own); ProjectLocked while someone else holds a live one."""
    if actor is None:
        raise PermissionDenied("A lock is held by a person: name the account that takes it.")
    _require_edit(project, actor)
    lock_hold(project, actor)
    return ProjectLock.objects.select_related("holder").get(project=project)


@transaction.atomic
def project_lock_release(*, actor: Any, project: Project) -> None:
    """Release one's own lock (a free or expired lock: nothing to do)."""
    lock = _current_lock(project)
    if lock is None:
        return
    if actor is None or lock.holder_id != actor.pk:
        if lock_is_live(lock):
            raise PermissionDenied(
                f"The lock is held by {lock.holder.get_username()}; only they release it (an admin may break it)."
            )
        return
    lock.delete()
    audit_record(actor=actor, action="project.lock_release", target=target_of(project), detail={"project": project.name})


@transaction.atomic
def project_lock_break(*, actor: Any, project: Project) -> str | None:
    """An admin frees another member's lock; audited with the holder it took it from."""
    if actor is not None and not roles.can_break_project_lock(actor):
        raise PermissionDenied("Only an admin may break a project's editing lock.")
    lock = _current_lock(project)
    if lock is None:
        return None
    holder = lock.holder.get_username()
    detail = {"project": project.name, "holder": holder, "taken_at": lock.taken_at.isoformat(),
              "last_active_at": lock.last_active_at.isoformat(), "was_live": lock_is_live(lock)}
    lock.delete()
    audit_record(actor=actor, action="project.lock_break", target=target_of(project), detail=detail)
    return holder


# ---------------------------------------------------------------------------
# Datasets held by projects (registered with the datasets services in ProjectsConfig.ready)
# ---------------------------------------------------------------------------
def _projects_holding(name: str, project: Project | None) -> list[Project]:
    held = list(Project.objects.filter(datasets__dataset_name=name).order_by("pk"))
    if project is not None and all(p.pk != project.pk for p in held):
        held.append(project)
    return held


def dataset_write_guard(*, user: Any, action: str, name: str, dataset: Any = None, project: Project | None = None) -> None:
    """A dataset attached to a project is one of the project's parts: a new version, a description or a
    deletion needs what any edit of the project needs (membership, admin for all; no one else's live lock).

    Refuses with PermissionDenied, or ProjectLocked naming the holder; changes nothing (the upload's
    listener takes the lock inside the upload's transaction)."""
    for held_by in _projects_holding(name, project):
        project_edit_check(actor=user, project=held_by)


def dataset_version_added(*, user: Any, dataset: Any, project: Project | None = None) -> None:
    """Inside an upload's transaction: the uploader takes (or renews) the lock of each project holding the
    name, as an edit does, and the project's timeline records the version; `project` gets the name attached."""
    if project is not None:
        project_dataset_attach(actor=user, project=project, dataset_name=dataset.name)
    for held_by in _projects_holding(dataset.name, None):
        lock_hold(held_by, user)
        _touch(held_by)
        audit_record(actor=user, action="project.dataset_version", target=target_of(held_by),
                     detail={"dataset": dataset.name, "version": dataset.version, "id": dataset.pk,
                             "sha256": dataset.sha256})
