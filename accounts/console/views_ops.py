"""Console pages for operations: health, application logs, caches. Writes go through services."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import roles
from accounts.console import caches as cache_registry
from accounts.console import health, logreader
from runs.views.pages import RoleRequiredMixin


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: "up" (200) or "down" (503), nothing else; no sign-in.

    Only the liveness checks (database, cache) count: a web process that can
    serve stays in the pool while a worker is away. No detail is returned.
    """
    report = health.health_report(liveness_only=True)
    up = report["status"] != health.RED
    return HttpResponse("up" if up else "down", status=200 if up else 503, content_type="text/plain")


class HealthView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_console)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "console/health.html", {
            "report": health.health_report(), "refresh_seconds": settings.HEALTH_REFRESH_SECONDS,
        })


def _source(request: HttpRequest, sources: list[str]) -> str:
    wanted = request.GET.get("source") or ""
    if wanted:
        return wanted
    return "web.log" if "web.log" in sources else (sources[0] if sources else "")


class LogsView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_console)

    def get(self, request: HttpRequest) -> HttpResponse:
        sources = logreader.log_sources()
        source = _source(request, sources)
        context: dict[str, Any] = {"sources": sources, "source": source, "levels": logreader.LEVELS,
                                   "params": request.GET, "chosen_levels": request.GET.getlist("level")}
        if not sources:
            context["error"] = f"No log file in LOG_DIR ({settings.LOG_DIR or 'unset: file logging is off'})."
            return render(request, "console/logs.html", context)
        try:
            query = logreader.query_from_params(request.GET)
            context["page"] = logreader.read_page(source=source, query=query, cursor=request.GET.get("cursor") or None)
            context["chart"] = logreader.level_counts_per_hour(source=source)
        except logreader.LogError as exc:
            context["error"] = str(exc)
            return render(request, "console/logs.html", context, status=400)
        query_string = request.GET.copy()
        query_string.pop("cursor", None)
        context["querystring"] = query_string.urlencode()
        return render(request, "console/logs.html", context)


class LogsDownloadView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_console)

    def get(self, request: HttpRequest) -> HttpResponse:
        source = _source(request, logreader.log_sources())
        try:
            query = logreader.query_from_params(request.GET)
            lines = logreader.iter_matching(source=source, query=query)
            first = next(lines, b"")  # a bad source fails here, as a 400, before streaming starts
        except logreader.LogError as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain")

        def stream() -> Any:
            if first:
                yield first
            yield from lines

        response = StreamingHttpResponse(stream(), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{source}.filtered.jsonl"'
        return response


class CachesView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_console)

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = [managed.as_dict() for managed in cache_registry.registered_caches()]
        results = None
        try:
            results = cache_registry.get_cache("simulation-results").list_entries(limit=50)
        except LookupError:
            pass
        return render(request, "console/caches.html", {
            "caches": rows, "result_entries": results, "can_manage": roles.can_manage_console(request.user),
        })


class CachesActionView(RoleRequiredMixin, View):
    """POST: clear one cache (name), clear all, clear expired, or evict by age or size."""

    allowed = staticmethod(roles.can_manage_console)

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action", "")
        try:
            if action == "clear":
                removed = cache_registry.cache_clear(actor=request.user, name=request.POST.get("name", ""))
                messages.success(request, f"Cleared {request.POST.get('name')}: {removed} entries removed.")
            elif action == "clear-all":
                done = cache_registry.caches_clear_all(actor=request.user)
                messages.success(request, f"Cleared every cache: {sum(done.values())} entries removed.")
            elif action == "clear-expired":
                done = cache_registry.caches_clear_expired(actor=request.user)
                messages.success(request, f"Cleared expired entries: {sum(done.values())} removed.")
            elif action == "evict":
                days = request.POST.get("older_than_days") or None
                mib = request.POST.get("max_total_mib") or None
                removed = cache_registry.cache_evict_by(
                    actor=request.user, name=request.POST.get("name", ""),
                    older_than_days=int(days) if days is not None else None,
                    max_total_bytes=int(float(mib) * 2**20) if mib is not None else None,
                )
                messages.success(request, f"Evicted {removed} entries.")
            else:
                return HttpResponseBadRequest("action must be clear, clear-all, clear-expired or evict")
        except (LookupError, ValueError) as exc:
            messages.error(request, str(exc).strip("'\""))
            return redirect("console_ops:caches")
        return redirect("console_ops:caches")
