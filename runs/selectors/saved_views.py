"""Reads of saved run list views: a person's own, and those others shared."""
from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts import roles
from runs.models import SavedView


def saved_view_list(*, user: Any) -> QuerySet[SavedView]:
    """The views this user may open: their own and the shared ones (none without the right to see runs)."""
    if not roles.can_view_runs(user):
        return SavedView.objects.none()
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "pk")


def saved_view_get(*, user: Any, pk: Any) -> SavedView:
    """The view, if this user may open it; 404 otherwise (a private view of someone else stays unseen)."""
    try:
        return saved_view_list(user=user).get(pk=int(pk))
    except (SavedView.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such saved view.") from None


def saved_view_default(*, user: Any) -> SavedView | None:
    if not roles.can_view_runs(user):
        return None
    return SavedView.objects.filter(owner=user, is_default=True).first()
