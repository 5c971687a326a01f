"""The run page's registry box: which versions a training run already is, and whether the user may register it."""
from __future__ import annotations

from typing import Any

from django import template

from accounts import roles

register = template.Library()


@register.simple_tag(takes_context=True)
def registry_box_for(context: dict[str, Any], run: Any) -> dict[str, Any]:
    from simulations.registry.models import ModelVersion, RegisteredModel

    user = context.get("user") or getattr(context.get("request"), "user", None)
    if not roles.can_view_registry(user):
        return {"visible": False}
    versions = list(ModelVersion.objects.filter(source_run_id=run.run_id).select_related("model"))
    registrable = run.kind == "training" and run.status == "SUCCEEDED" and not run.is_imported
    return {
        "visible": True,
        "versions": versions,
        "can_register": registrable and roles.can_manage_registry(user),
        "model_names": list(RegisteredModel.objects.filter(archived_at__isnull=True).values_list("name", flat=True)[:100]),
    }
