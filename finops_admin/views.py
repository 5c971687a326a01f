"""Admin › Batch Runs: the list, a run's detail, its logs, the launch and reprocess forms."""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts import roles
from finops_admin import selectors
from finops_admin.filters import DEFAULT_ORDERING, SORTABLE, BatchRunFilter
from finops_admin.forms import FinopsBatchParamsForm
from finops_admin.models import Domain
from finops_admin.services.reprocess import batch_reprocess
from runs.models import RunTrigger
from runs.selectors.listing import run_log_text
from runs.services import run_create
from runs.views.pages import RoleRequiredMixin

PAGE_SIZES = (10, 25, 50, 100)


class FinopsSectionMixin(RoleRequiredMixin):
    """Admin › Batch Runs: finops_admin and admin; a 403 for everyone else."""

    allowed = staticmethod(roles.can_view_finops_batches)


class FinopsTriggerMixin(RoleRequiredMixin):
    allowed = staticmethod(roles.can_trigger_finops_batch)


class BatchListView(FinopsSectionMixin, TemplateView):
    template_name = "finops_admin/batch_list.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        batch_filter = BatchRunFilter(request.GET, queryset=selectors.batch_runs(user=request.user), request=request)
        status = 200 if batch_filter.is_valid() else 400
        try:
            size = int(request.GET.get("page_size", 25))
        except ValueError:
            size = 25
        size = size if size in PAGE_SIZES else 25
        queryset = batch_filter.qs if status == 200 else selectors.batch_runs(user=request.user).none()
        page = Paginator(queryset, size).get_page(request.GET.get("page"))
        runs = selectors.decorate(list(page.object_list))
        query = request.GET.copy()
        query.pop("page", None)
        sort_query = query.copy()
        sort_query.pop("ordering", None)
        context = self.get_context_data(
            filter=batch_filter,
            page_obj=page,
            runs=runs,
            page_sizes=PAGE_SIZES,
            page_size=size,
            querystring=query.urlencode(),
            sort_querystring=sort_query.urlencode(),
            ordering=request.GET.get("ordering") or DEFAULT_ORDERING,
            columns=[
                ("run_id", "Run ID"), ("trigger", "Trigger"), (None, "Periods"), ("status", "Status"),
                ("started_at", "Start"), ("finished_at", "End"), ("duration", "Duration"), (None, "Domains"),
                ("inserted", "Volumes"), ("errors", "Errors"), (None, "Anomaly"), (None, "Actions"),
            ],
            sortable=[label for _, label in SORTABLE],
            can_trigger=roles.can_trigger_finops_batch(request.user),
            domains=list(Domain.objects.only("code", "name")),
        )
        return self.render_to_response(context, status=status)


class BatchCsvView(FinopsSectionMixin, View):
    """The list as CSV, with exactly the filters of the page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        batch_filter = BatchRunFilter(request.GET, queryset=selectors.batch_runs(user=request.user), request=request)
        if not batch_filter.is_valid():
            return HttpResponse(f"Bad filter: {batch_filter.errors.as_text()}", status=400, content_type="text/plain")
        response = StreamingHttpResponse(selectors.batch_csv_rows(batch_filter.qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="finops-batch-runs-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response


class BatchDetailView(FinopsSectionMixin, TemplateView):
    template_name = "finops_admin/batch_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = selectors.batch_run_get(user=self.request.user, run_id=kwargs["run_id"])
        detail = selectors.batch_run_detail(run=run)
        context.update(
            run=run, detail=detail, batch=detail.batch, short_error=selectors.short_error(run),
            can_trigger=roles.can_trigger_finops_batch(self.request.user),
        )
        return context


class BatchLogsView(FinopsSectionMixin, View):
    def get(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.batch_run_get(user=request.user, run_id=run_id)
        response = StreamingHttpResponse(run_log_text(run=run), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.run_id}.log"'
        return response


class BatchLaunchView(FinopsTriggerMixin, View):
    template_name = "finops_admin/batch_launch.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": FinopsBatchParamsForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = FinopsBatchParamsForm(request.POST)
        if form.is_valid():
            try:
                # The raw text, validated again by the kind's form inside run_create (one rule for every surface).
                params = {name: request.POST.get(name, "") for name in ("periods", "domains", "source")}
                run = run_create(kind="finops_batch", params=params, trigger=RunTrigger.MANUAL, owner=request.user)
            except ValidationError as exc:
                for name, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                    form.add_error(name if name in form.fields else None, errors)
            except PermissionDenied:
                raise
            else:
                messages.success(request, _launched(run))
                return HttpResponseRedirect(reverse("finops_admin:batch_detail", args=[run.run_id]))
        return render(request, self.template_name, {"form": form}, status=400)


def _launched(run: Any) -> str:
    if getattr(run, "queue_unreachable", False):
        return f"{run.run_id} stored; will be queued when the task queue is back."
    return f"{run.run_id} launched."


class BatchReprocessView(FinopsTriggerMixin, View):
    """GET: what a reprocess would replace (rows per period and domain); POST: launch it."""

    template_name = "finops_admin/batch_reprocess.html"

    def get(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.batch_run_get(user=request.user, run_id=run_id)
        try:
            plan = batch_reprocess(run=run, actor=request.user, preview=True)
        except ValidationError as exc:
            return render(request, self.template_name, {"run": run, "error": " ".join(exc.messages)}, status=409)
        return render(request, self.template_name, {"run": run, "plan": plan})

    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.batch_run_get(user=request.user, run_id=run_id)
        try:
            plan = batch_reprocess(run=run, actor=request.user)
        except ValidationError as exc:
            return render(request, self.template_name, {"run": run, "error": " ".join(exc.messages)}, status=409)
        messages.success(request, _launched(plan.run) + f" Reprocess of {run.run_id}.")
        return HttpResponseRedirect(reverse("finops_admin:batch_detail", args=[plan.run.run_id]))
