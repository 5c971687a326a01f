"""Writes of saved run list views: create, change, delete, make default. Each is checked,
validated (its query, columns and sort must compile), atomic and audited."""
from __future__ import annotations

from typing import Any, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import roles
from accounts.services import audit_record
from runs.models import SavedView
from runs.query import QueryError, compile_filter, compile_order
from runs.query.columns import parse_columns

MAX_NAME = 100


def _clean(*, name: str | None, query: str | None, columns: Sequence[str] | None,
           sort: Sequence[str] | None) -> dict[str, Any]:
    """The fields given, validated; a ValidationError names each bad one (with the character for a query)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if name is not None:
        cleaned = " ".join(name.split())
        if not cleaned:
            errors["name"] = ["A view needs a name."]
        elif len(cleaned) > MAX_NAME:
            errors["name"] = [f"At most {MAX_NAME} characters."]
        out["name"] = cleaned
    if query is not None:
        try:
            compile_filter(query)
        except QueryError as exc:
            errors["query"] = [exc.describe()]
        out["query"] = query.strip()
    if columns is not None:
        try:
            out["columns"] = [c.name for c in parse_columns(list(columns))]
        except QueryError as exc:
            errors["columns"] = [exc.describe()]
    if sort is not None:
        try:
            out["sort"] = compile_order(list(sort), tiebreak=False).keys
        except QueryError as exc:
            errors["sort"] = [exc.describe()]
    if errors:
        raise ValidationError(errors)
    return out


def _save(view: SavedView) -> None:
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        raise ValidationError({"name": [f"You already have a view named {view.name!r}."]}) from None


@transaction.atomic
def saved_view_create(
    *, actor: Any, name: str, query: str = "", columns: Sequence[str] = (), sort: Sequence[str] = (),
    shared: bool = False, is_default: bool = False,
) -> SavedView:
    if not roles.can_save_view(actor):
        raise PermissionDenied("You may not save run list views.")
    fields = _clean(name=name, query=query, columns=columns, sort=sort)
    if is_default:
        SavedView.objects.filter(owner=actor, is_default=True).update(is_default=False)
    view = SavedView(owner=actor, shared=shared, is_default=is_default, **fields)
    _save(view)
    audit_record(actor=actor, action="saved_view.create", target=str(view.pk),
                 detail={"name": view.name, "shared": view.shared, "default": view.is_default})
    return view


@transaction.atomic
def saved_view_update(
    *, view: SavedView, actor: Any, name: str | None = None, query: str | None = None,
    columns: Sequence[str] | None = None, sort: Sequence[str] | None = None,
    shared: bool | None = None, is_default: bool | None = None,
) -> SavedView:
    """Change what is given (None leaves a field as is). Only its owner changes a view."""
    if not roles.can_change_view(actor, view):
        raise PermissionDenied("Only its owner changes a saved view.")
    for field, value in _clean(name=name, query=query, columns=columns, sort=sort).items():
        setattr(view, field, value)
    if shared is not None:
        view.shared = shared
    if is_default is not None:
        if is_default:
            SavedView.objects.filter(owner=view.owner_id, is_default=True).exclude(pk=view.pk).update(is_default=False)
        view.is_default = is_default
    _save(view)
    audit_record(actor=actor, action="saved_view.update", target=str(view.pk),
                 detail={"name": view.name, "shared": view.shared, "default": view.is_default})
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: Any) -> None:
    if not roles.can_change_view(actor, view):
        raise PermissionDenied("Only its owner deletes a saved view.")
    audit_record(actor=actor, action="saved_view.delete", target=str(view.pk), detail={"name": view.name})
    view.delete()
