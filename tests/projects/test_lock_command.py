"""The `project_lock` command: show the lock, take, release and break it as a named account, through the
lock services (so only the holder releases, only an admin breaks, and a break is audited)."""
from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import AuditEvent
from projects import services
from projects.models import ProjectLock

pytestmark = pytest.mark.django_db


def lock(*args: str) -> str:
    out = io.StringIO()
    call_command("project_lock", *args, stdout=out)
    return out.getvalue()


def test_it_shows_a_free_lock(project: Any) -> None:
    assert lock("Basel book review") == "Basel book review: the lock is free.\n"


def test_it_shows_who_holds_the_lock_and_since_when(project: Any, member: Any) -> None:
    taken = services.project_lock_take(actor=member, project=project)
    shown = lock("Basel book review")
    assert f"locked by max since {taken.taken_at:%Y-%m-%d %H:%M:%S} UTC" in shown
    assert lock(str(project.pk)) == shown  # by id as well as by name


def test_an_expired_lock_shows_as_free(project: Any, member: Any, settings: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    ProjectLock.objects.update(last_active_at=timezone.now() - timedelta(seconds=settings.PROJECT_LOCK_IDLE_SECONDS + 1))
    assert "the lock is free" in lock("Basel book review")


def test_another_member_takes_an_expired_lock(project: Any, member: Any, owner: Any, settings: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    ProjectLock.objects.update(last_active_at=timezone.now() - timedelta(seconds=settings.PROJECT_LOCK_IDLE_SECONDS + 1))
    assert "olivia holds the lock" in lock("Basel book review", "--take", "--as", "olivia")
    assert ProjectLock.objects.get(project=project).holder == owner


def test_a_member_takes_and_releases_it(project: Any, member: Any) -> None:
    assert "max holds the lock of Basel book review" in lock("Basel book review", "--take", "--as", "max")
    assert ProjectLock.objects.get(project=project).holder == member
    assert "locked by max" in lock("Basel book review")
    assert lock("Basel book review", "--release", "--as", "max") == "Released the lock of Basel book review.\n"
    assert not ProjectLock.objects.exists()
    assert list(AuditEvent.objects.filter(action__startswith="project.lock", actor=member).values_list("action", flat=True)
                .order_by("id")) == ["project.lock_take", "project.lock_release"]


def test_taking_a_lock_someone_else_holds_is_refused_naming_them(project: Any, member: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(CommandError, match="being edited by max"):
        lock("Basel book review", "--take", "--as", "olivia")
    assert ProjectLock.objects.get(project=project).holder == member


def test_only_the_holder_releases(project: Any, member: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(CommandError, match="held by max; only they release it"):
        lock("Basel book review", "--release", "--as", "olivia")
    assert ProjectLock.objects.filter(project=project, holder=member).exists()


def test_a_non_member_may_not_take_it(project: Any, outsider: Any) -> None:
    with pytest.raises(CommandError, match="only its members"):
        lock("Basel book review", "--take", "--as", "nina")
    assert not ProjectLock.objects.exists()


def test_a_non_admin_may_not_break_it(project: Any, member: Any, owner: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    for who in ("olivia", "max"):  # the owner, and even the holder (they release instead)
        with pytest.raises(CommandError, match="Only an admin may break"):
            lock("Basel book review", "--break", "--as", who)
    assert ProjectLock.objects.filter(project=project, holder=member).exists()
    assert not AuditEvent.objects.filter(action="project.lock_break").exists()


def test_an_admin_breaks_it_and_the_break_is_audited(project: Any, member: Any, admin_user: Any) -> None:
    services.project_lock_take(actor=member, project=project)
    assert "Broke max's lock of Basel book review" in lock("Basel book review", "--break", "--as", "boss")
    assert not ProjectLock.objects.exists()
    event = AuditEvent.objects.get(action="project.lock_break")
    assert event.actor == admin_user and event.detail["holder"] == "max" and event.detail["was_live"] is True
    assert event.target == services.target_of(project)
    assert "nothing to break" in lock("Basel book review", "--break", "--as", "boss")


@pytest.mark.parametrize("args, message", [
    (("No such project",), "No project named 'No such project'"),
    (("No such project", "--take", "--as", "max"), "No project named 'No such project'"),
    (("Basel book review", "--take", "--as", "ghost"), "No active account named 'ghost'"),
    (("Basel book review", "--break", "--as", "ghost"), "No active account named 'ghost'"),
    (("Basel book review", "--take"), "--take needs --as USER"),
    (("Basel book review", "--break"), "--break needs --as USER"),
    (("Basel book review", "--as", "max"), "add --take, --release or --break"),
])
def test_unknown_projects_and_accounts_and_missing_accounts_are_refused(
    project: Any, member: Any, args: tuple[str, ...], message: str
) -> None:
    services.project_lock_take(actor=member, project=project)
    with pytest.raises(CommandError, match=message):
        lock(*args)
    assert ProjectLock.objects.filter(project=project, holder=member).exists()


def test_take_release_and_break_are_exclusive(project: Any) -> None:
    with pytest.raises(CommandError):
        lock("Basel book review", "--take", "--break", "--as", "boss")
