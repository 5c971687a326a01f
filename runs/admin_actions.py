"""Admin actions for runs that go through the maintenance services.

Plain functions for RunAdmin.actions. Each checks the roles run by run and is
all or nothing: if one selected run is refused, none is changed.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import roles
from runs.models import Run
from runs.services.manage import run_checksum_recompute, runs_delete


@admin.action(description="Delete selected runs (with their artifacts)")
def delete_runs_with_artifacts(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Run]) -> None:
    """Delete the runs, their logs and artifact files not used by another run."""
    try:
        deleted = runs_delete(runs=list(queryset), actor=request.user)
    except (PermissionDenied, ValidationError) as exc:
        modeladmin.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
        return
    modeladmin.message_user(request, f"Deleted {len(deleted)} run(s) with their logs and artifacts.")


@admin.action(description="Recompute checksums")
def recompute_checksums(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Run]) -> None:
    """Recompute each run's checksum from its stored result bytes."""
    runs = list(queryset)
    if not roles.can_cleanup_runs(request.user):
        modeladmin.message_user(request, "You may not recompute checksums. Nothing was changed.", messages.ERROR)
        return
    active = [run.run_id for run in runs if run.is_active]
    if active:
        modeladmin.message_user(
            request, f"Still running, results not final: {', '.join(active)}. Nothing was changed.", messages.ERROR
        )
        return
    changed = []
    with transaction.atomic():
        for run in runs:
            old, new = run_checksum_recompute(run=run, actor=request.user)
            if old != new:
                changed.append(run.run_id)
    message = f"Checksums recomputed for {len(runs)} run(s); changed: {', '.join(changed) or 'none'}."
    modeladmin.message_user(request, message, messages.WARNING if changed else messages.SUCCESS)
