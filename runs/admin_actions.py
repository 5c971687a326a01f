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
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts import roles
from runs.models import Run
from runs.selectors.cleanup import cleanup_plan, cleanup_validate_days
from runs.services.manage import run_checksum_recompute, runs_cleanup, runs_delete


@admin.action(description="Delete selected runs (with their artifacts)")
def delete_runs_with_artifacts(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse | None:
    """Delete the runs, their logs and artifact files not used by another run, after a
    confirmation page. Refusals are reported before the confirmation is asked."""
    runs = list(queryset)
    refused = [r.run_id for r in runs if not roles.can_delete_run(request.user, r)]
    if refused:
        modeladmin.message_user(request, f"You may not delete {', '.join(refused)}. Nothing was deleted.", messages.ERROR)
        return None
    if request.POST.get("confirm") != "1":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Delete runs with their artifacts",
            "opts": modeladmin.model._meta,
            "runs": runs,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/runs/delete_confirm.html", context)
    try:
        deleted = runs_delete(runs=runs, actor=request.user)
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


@admin.action(description="Clean up selected runs (cleanup rules, with a dry run first)")
def cleanup_selected_runs(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse | None:
    """Apply the cleanup rules to the selected runs only: show the plan, delete on confirmation.

    The plan keeps favourites, runs in saved comparisons and parents of runs that
    stay, exactly as the cleanup page and `cleanup_runs` do; only its list is deleted.
    """
    if not roles.can_cleanup_runs(request.user):
        modeladmin.message_user(request, "You may not clean up runs. Nothing was changed.", messages.ERROR)
        return None
    try:
        days = cleanup_validate_days(request.POST.get("days") or 30)
    except ValidationError as exc:
        modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
        return None
    selected = list(queryset.values_list("run_id", flat=True))
    plan = cleanup_plan(days=days, user=request.user, among=selected)
    if request.POST.get("apply") == "1":
        try:
            deleted = runs_cleanup(days=days, run_ids=request.POST.getlist("planned"), actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"Nothing was deleted: {' '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR)
            return None
        modeladmin.message_user(request, f"Cleanup deleted {len(deleted)} run(s).")
        return None
    listed = set(plan.run_ids) | {k.run_id for k in plan.kept}
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Clean up selected runs",
        "opts": modeladmin.model._meta,
        "plan": plan,
        "days": days,
        "too_recent": [rid for rid in selected if rid not in listed],
        "selected": selected,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "selected_pks": list(queryset.values_list("pk", flat=True)),
    }
    return TemplateResponse(request, "admin/runs/cleanup_confirm.html", context)
