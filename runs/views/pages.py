"""Server-rendered pages of the run core."""
from __future__ import annotations

from typing import Any, Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import roles
from runs import selectors, services
from runs.filters import RunFilter, SORTABLE
from runs.kinds import UnknownKindError, get_kind, kinds_launchable_by
from runs.models import LogLevel, RunTrigger

PAGE_SIZES = (10, 25, 50, 100)


class RoleRequiredMixin(LoginRequiredMixin):
    """Refuse the page (403) unless `allowed(user)` holds; anonymous users go to login."""

    allowed: Callable[[Any], bool] = staticmethod(roles.can_view_runs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        if roles.can_view_runs(user):
            context["status_counts"] = selectors.run_status_counts(user=user)
            context["latest_runs"] = selectors.run_latest(user=user)
        return context


class RunListView(RoleRequiredMixin, TemplateView):
    template_name = "runs/run_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        run_filter = RunFilter(request.GET or None, queryset=selectors.run_list(user=request.user), request=request)
        try:
            size = int(request.GET.get("page_size", 25))
        except ValueError:
            size = 25
        size = size if size in PAGE_SIZES else 25
        paginator = Paginator(run_filter.qs, size)
        page = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        sort_query = query.copy()
        sort_query.pop("ordering", None)
        context.update(
            filter=run_filter,
            page_obj=page,
            runs=page.object_list,
            page_sizes=PAGE_SIZES,
            page_size=size,
            querystring=query.urlencode(),
            sort_querystring=sort_query.urlencode(),
            ordering=request.GET.get("ordering", "-created_at"),
            sortable=[label for _, label in SORTABLE],
            demo_kinds={k.name for k in kinds_launchable_by(request.user) if k.is_demo} | {"demo"},
        )
        return context


class RunDetailView(RoleRequiredMixin, TemplateView):
    template_name = "runs/run_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = selectors.run_get(user=self.request.user, run_id=kwargs["run_id"])
        try:
            kind = get_kind(run.kind)
        except UnknownKindError:
            kind = None
        context.update(
            run=run,
            kind=kind,
            logs=selectors.run_logs(run=run)[:500],
            log_levels=LogLevel.values,
            artifacts=run.artifacts.all(),
            children=run.children.all()[:50],
            can_cancel=run.is_active and roles.can_cancel_run(self.request.user, run),
        )
        return context


class RunCancelView(RoleRequiredMixin, View):
    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.run_get(user=request.user, run_id=run_id)
        try:
            services.run_cancel(run=run, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Cancel requested for {run.run_id}.")
        return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))


class LaunchMetaForm(forms.Form):
    tags = forms.CharField(required=False, max_length=500, help_text="Comma-separated.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class LaunchChooseView(RoleRequiredMixin, TemplateView):
    template_name = "runs/launch_choose.html"
    allowed = staticmethod(roles.can_launch_run)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["kinds"] = kinds_launchable_by(self.request.user)
        return context


class LaunchView(RoleRequiredMixin, View):
    """The launch form of one kind: its parameters, plus tags and notes."""

    template_name = "runs/launch.html"
    allowed = staticmethod(roles.can_launch_run)

    def _kind(self, request: HttpRequest, name: str):
        for kind in kinds_launchable_by(request.user):
            if kind.name == name:
                return kind
        try:
            get_kind(name)
        except UnknownKindError:
            raise Http404("No such run kind") from None
        raise PermissionDenied

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        run_kind = self._kind(request, kind)
        return self._render(request, run_kind, run_kind.params_form(prefix="p"), LaunchMetaForm())

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        run_kind = self._kind(request, kind)
        params_form = run_kind.params_form(request.POST, prefix="p")
        meta_form = LaunchMetaForm(request.POST)
        if params_form.is_valid() and meta_form.is_valid():
            try:
                run = services.run_create(
                    kind=run_kind.name,
                    params=params_form.cleaned_data,
                    trigger=RunTrigger.MANUAL,
                    owner=request.user,
                    tags=meta_form.cleaned_data["tags"].split(","),
                    notes=meta_form.cleaned_data["notes"],
                )
            except ValidationError as exc:
                for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    params_form.add_error(field if field in params_form.fields else None, errors)
            else:
                messages.success(request, f"{run.run_id} queued.")
                return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
        return self._render(request, run_kind, params_form, meta_form, status=400)

    def _render(self, request, run_kind, params_form, meta_form, status: int = 200) -> HttpResponse:
        context = {"kind": run_kind, "params_form": params_form, "meta_form": meta_form}
        return render(request, self.template_name, context, status=status)
