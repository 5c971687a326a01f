"""Server-rendered pages of the run core."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    QueryDict,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts import roles
from runs import selectors, services
from runs.filters import RunFilter, SORTABLE
from runs.kinds import UnknownKindError, get_kind, kinds_launchable_by
from runs.limits import bulk_max_ids, summarise_ids
from runs.models import LogLevel, RunTrigger
from runs.pagination import (
    CachedCountPaginator, CursorError, RunPage, keyset_continues_offset, keyset_cursor_after, keyset_page,
)
from runs.query import QueryError, compile_filter
from runs.query.columns import Column, parse_columns, split_list
from runs.selectors.core import run_favourite_others
from runs.selectors.saved_views import saved_view_default, saved_view_get, saved_view_list
from runs.services.saved_views import saved_view_create, saved_view_delete, saved_view_update
from runs.selectors.listing import ListedRun, run_list_tag_names, run_list_values, run_log_text, runs_csv_rows, with_columns
from runs.selectors.validation import run_validation
from runs.services.manage import runs_delete
from projects.forms import PlacementForm  # launch forms file the new run under a project (kind-neutral)
from datasets.launch import launch_form_with_dataset  # launch forms prefilled from a dataset's page
from projects.services import run_place

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


def favicon(request: HttpRequest) -> HttpResponse:
    """The icon, for browsers that ask /favicon.ico (pages name static/favicon.svg)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


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
        # Personal settings (Console › Settings, kept in the session): a bare /runs/ opens with the
        # user's default filters and rows per page.
        prefs = request.session.get("console_prefs") or {}
        data = request.GET or None
        # A saved view (?view=<id>, or the user's default on a bare /runs/) fills in the query,
        # columns and sort the address does not set.
        saved = None
        if "view" in request.GET:
            saved = saved_view_get(user=request.user, pk=request.GET["view"])
        elif data is None:
            saved = saved_view_default(user=request.user)
        if saved is not None:
            data = view_query(saved, request.GET)
        elif data is None and prefs.get("run_filters"):
            data = QueryDict(mutable=True)
            data.update({k: str(v) for k, v in prefs["run_filters"].items()})
        request_get = data if data is not None else request.GET
        run_filter = RunFilter(data, queryset=selectors.run_list(user=request.user), request=request)
        try:
            size = int(request.GET.get("page_size", prefs.get("page_size", 25)))
        except ValueError:
            size = 25
        size = size if size in PAGE_SIZES else 25
        columns, columns_error = page_columns(request_get.get("columns", ""))
        query_error = query_error_of(run_filter)
        # A query that cannot be read lists nothing rather than every run as if it matched.
        rows = with_columns(run_filter.qs.none() if query_error else run_filter.qs, columns)
        # The page's rows as plain values (the table reads them as ListedRun, no model
        # instances); the total is counted on the queryset, as the API counts it.
        paginator = CachedCountPaginator(rows, size, rows=run_list_values(rows, columns))
        # A sort the form refused is not applied to the rows, so a cursor does not follow it either.
        ordering_keys = [] if "ordering" in run_filter.errors else split_list(request_get.get("ordering", ""))
        page, listed, next_cursor, cursor_error = self.page_rows(
            paginator, rows, columns, ordering_keys, request_get, listing=not query_error
        )
        listed = [ListedRun(row) for row in run_list_tag_names(listed)]
        if page is not None:
            page.object_list = listed
        for run in listed:
            run.column_values = [column.value(run) for column in columns]
        query = request_get.copy()
        query.pop("page", None)
        query.pop("cursor", None)
        query.pop("view", None)
        sort_query = query.copy()
        sort_query.pop("ordering", None)
        context.update(
            filter=run_filter,
            page_obj=page,
            by_cursor=page is None,
            paginator=paginator,
            next_cursor=next_cursor,
            cursor_error=cursor_error,
            runs=listed,
            page_sizes=PAGE_SIZES,
            page_size=size,
            querystring=query.urlencode(),
            sort_querystring=sort_query.urlencode(),
            ordering=request_get.get("ordering", "-created_at"),
            sortable=[label for _, label in SORTABLE],
            columns=columns,
            columns_text=", ".join(c.name for c in columns) if not columns_error else request_get.get("columns", ""),
            query_text=request_get.get("filter", ""),
            saved_view=saved,
            saved_views=saved_view_list(user=request.user),
            can_change_view=saved is not None and roles.can_change_view(request.user, saved),
            columns_error=columns_error,
            query_error=query_error,
            can_annotate=roles.can_annotate_run(request.user),
            can_import=roles.can_import_runs(request.user),
            can_cleanup=roles.can_cleanup_runs(request.user),
            can_delete_some=request.user.has_perm(roles.DELETE_ANY_RUN) or request.user.has_perm(roles.DELETE_OWN_RUN),
        )
        return context

    @staticmethod
    def page_rows(
        paginator: CachedCountPaginator, rows: Any, columns: list[Column], ordering: list[str],
        request_get: QueryDict, *, listing: bool,
    ) -> tuple[RunPage | None, list[dict[str, Any]], str | None, str | None]:
        """The page's rows: (numbered page or None, rows, cursor of the next page, cursor error).

        `?cursor=` reads the rows after it, as the API does for the same cursor (no OFFSET:
        page 500 costs what page 1 does); such a page has no number. A numbered page's
        "Next" carries the cursor of its last row when a cursor continues its order row
        for row (keyset_continues_offset), else the next number. A cursor this list did
        not give out (forged, or for another sort) shows the first page and says why."""
        cursor = request_get.get("cursor") or ""
        cursor_error = None
        if cursor and listing:
            try:
                keyset = keyset_page(run_list_values(rows, columns), ordering, cursor, paginator.per_page)
            except (CursorError, QueryError) as exc:
                cursor_error = f"{exc} Showing the first page."
            else:
                return None, keyset.rows, keyset.next_cursor, None
        page = paginator.get_page(1 if cursor else request_get.get("page"))
        listed = list(page.object_list)
        next_cursor = None
        if page.has_next() and keyset_continues_offset(ordering):
            next_cursor = keyset_cursor_after(rows, ordering, listed[-1]["id"])
        return page, listed, next_cursor, cursor_error


def view_query(view: Any, overrides: QueryDict) -> QueryDict:
    """The list's parameters for a saved view: its query, columns and sort, then whatever
    the address adds or overrides (a page number, another sort)."""
    data = QueryDict(mutable=True)
    if view.query:
        data["filter"] = view.query
    if view.columns:
        data["columns"] = ",".join(view.columns)
    if view.sort:
        data["ordering"] = ",".join(view.sort)
    for key in overrides:
        if key != "view":
            data.setlist(key, overrides.getlist(key))
    return data


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100)
    filter = forms.CharField(required=False, max_length=4000)
    columns = forms.CharField(required=False, max_length=2000)
    ordering = forms.CharField(required=False, max_length=1000)
    shared = forms.BooleanField(required=False)
    is_default = forms.BooleanField(required=False)


class SavedViewSaveView(RoleRequiredMixin, View):
    """Save the list as it is on screen (query, columns, sort) as a named view."""

    allowed = staticmethod(roles.can_save_view)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SavedViewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "A view needs a name (at most 100 characters).")
            return HttpResponseRedirect(reverse("runs:list"))
        data = form.cleaned_data
        try:
            view = saved_view_create(
                actor=request.user, name=data["name"], query=data["filter"],
                columns=split_list(data["columns"]), sort=split_list(data["ordering"]),
                shared=data["shared"], is_default=data["is_default"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("runs:list"))
        messages.success(request, f"View {view.name!r} saved.")
        return HttpResponseRedirect(f"{reverse('runs:list')}?view={view.pk}")


class SavedViewDefaultView(RoleRequiredMixin, View):
    """Make this view the owner's default (or, with `is_default=0`, stop it being one)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        view = saved_view_get(user=request.user, pk=pk)
        make_default = request.POST.get("is_default", "1") not in ("0", "false", "")
        saved_view_update(view=view, actor=request.user, is_default=make_default)
        messages.success(request, f"{view.name!r} is {'now' if make_default else 'no longer'} your default view.")
        return HttpResponseRedirect(f"{reverse('runs:list')}?view={view.pk}")


class SavedViewDeleteView(RoleRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        view = saved_view_get(user=request.user, pk=pk)
        saved_view_delete(view=view, actor=request.user)
        messages.success(request, f"View {view.name!r} deleted.")
        return HttpResponseRedirect(reverse("runs:list"))


def page_columns(text: str) -> tuple[list[Column], QueryError | None]:
    """The metric and parameter columns the list page shows (`columns=metrics.lcr,params.mix`)."""
    try:
        return parse_columns(split_list(text)), None
    except QueryError as exc:
        return [], exc


def query_error_of(run_filter: RunFilter) -> QueryError | None:
    """The query language error of the list's `filter`, with its position, for the page to point at."""
    text = (run_filter.data or {}).get("filter", "") if run_filter.is_bound else ""
    if not text or "filter" not in run_filter.errors:
        return None
    try:
        compile_filter(text)
    except QueryError as exc:
        return exc
    return None


class RunDetailView(RoleRequiredMixin, TemplateView):
    template_name = "runs/run_detail.html"
    LOGS_PER_PAGE = 200

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        request = self.request
        run = selectors.run_get(user=request.user, run_id=kwargs["run_id"])
        try:
            kind = get_kind(run.kind)
        except UnknownKindError:
            kind = None
        level = request.GET.get("log_level") or None
        if level not in LogLevel.values:
            level = None
        logs = Paginator(selectors.run_logs(run=run, level=level), self.LOGS_PER_PAGE)
        artifacts = list(run.artifacts.defer("blob"))
        # Default to the last page: the newest lines are what a person looks for.
        log_page = logs.get_page(request.GET.get("log_page") or logs.num_pages)
        context.update(
            run=run,
            kind=kind,
            logs=log_page.object_list,
            log_page=log_page,
            log_level=level or "",
            log_levels=LogLevel.values,
            artifacts=artifacts,
            has_parquet=any(a.name.endswith(".parquet") for a in artifacts),
            # Tables inside metrics (by product, by class) belong to the kind's own panel.
            scalar_metrics=[(k, v) for k, v in run.metrics.items() if not isinstance(v, (list, dict))],
            children=run.children.all()[:50],
            can_cancel=run.is_active and roles.can_cancel_run(request.user, run),
            can_annotate=roles.can_annotate_run(request.user, run),
            can_clone=kind is not None and roles.can_launch_run(request.user, kind.launch_permission)
            and not run.is_data_only,
            can_delete=roles.can_delete_run(request.user, run),
            **run_favourite_others(run=run, user=request.user),
        )
        return context


class RunAnnotateView(RoleRequiredMixin, View):
    """Favourite, tags and notes from the detail page (the page saves through the API
    with JavaScript; this form post is the same service without it)."""

    allowed = staticmethod(roles.can_annotate_run)

    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.run_get(user=request.user, run_id=run_id)
        changes: dict[str, Any] = {}
        if "is_favourite" in request.POST:
            changes["is_favourite"] = request.POST["is_favourite"] in ("1", "true", "on")
        if "tags" in request.POST:
            changes["tags"] = request.POST["tags"].split(",")
        if "notes" in request.POST:
            changes["notes"] = request.POST["notes"]
        try:
            services.run_annotate(run=run, actor=request.user, **changes)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{run.run_id} saved.")
        return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))


class RunCloneView(RoleRequiredMixin, View):
    """The kind's launch form filled with the source run's parameters."""

    template_name = "runs/clone.html"
    allowed = staticmethod(roles.can_launch_run)

    def _source(self, request: HttpRequest, run_id: str):
        run = selectors.run_get(user=request.user, run_id=run_id)
        try:
            kind = get_kind(run.kind)
        except UnknownKindError:
            raise Http404("This run's kind is not installed") from None
        if not roles.can_launch_run(request.user, kind.launch_permission):
            raise PermissionDenied
        return run, kind

    def get(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run, kind = self._source(request, run_id)
        form = readable_params_form(kind.params_form(initial=run.params, prefix="p"))
        return render(request, self.template_name, {"run": run, "kind": kind, "params_form": form})

    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run, kind = self._source(request, run_id)
        form = kind.params_form(request.POST, prefix="p")
        if form.is_valid():
            try:
                clone = services.run_clone(run=run, actor=request.user, params=form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _launch_flash(clone.run_id, clone, f", cloned from {run.run_id}"))
                return HttpResponseRedirect(reverse("runs:detail", args=[clone.run_id]))
        return render(request, self.template_name, {"run": run, "kind": kind, "params_form": readable_params_form(form)}, status=400)


class RunLogsTextView(RoleRequiredMixin, View):
    def get(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = selectors.run_get(user=request.user, run_id=run_id)
        level = request.GET.get("level") or None
        if level is not None and level not in LogLevel.values:
            return HttpResponse(f"Unknown level {level!r}", status=400, content_type="text/plain")
        response = StreamingHttpResponse(run_log_text(run=run, level=level), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.run_id}.log"'
        return response


class RunValidationView(RoleRequiredMixin, TemplateView):
    """The validation panel, loaded on demand: it re-reads every stored byte."""

    template_name = "runs/_validation.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        run = selectors.run_get(user=self.request.user, run_id=kwargs["run_id"])
        checks = run_validation(run)
        context.update(run=run, checks=checks, all_ok=all(c.ok for c in checks))
        return context


class RunCsvView(RoleRequiredMixin, View):
    """The run list as CSV, with exactly the filters of the page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        # Bound even when empty: an unbound filter set is never valid, and "no filter" means every run.
        run_filter = RunFilter(request.GET, queryset=selectors.run_list(user=request.user), request=request)
        if not run_filter.is_valid():
            return HttpResponse(f"Bad filter: {run_filter.errors.as_text()}", status=400, content_type="text/plain")
        columns, columns_error = page_columns(request.GET.get("columns", ""))
        if columns_error:
            return HttpResponse(f"Bad columns: {columns_error.describe()}", status=400, content_type="text/plain")
        response = StreamingHttpResponse(runs_csv_rows(run_filter.qs, columns), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="runs-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response


class RunBulkView(RoleRequiredMixin, View):
    """Act on the runs ticked in the list. Every run is checked; any refusal changes none."""

    def post(self, request: HttpRequest) -> HttpResponse:
        back = request.POST.get("next") or reverse("runs:list")
        if not back.startswith("/runs/"):
            back = reverse("runs:list")
        run_ids = [rid for rid in request.POST.getlist("runs") if rid]
        act = request.POST.get("action", "")
        if not run_ids:
            messages.error(request, "Select at least one run.")
            return HttpResponseRedirect(back)
        if len(run_ids) > bulk_max_ids():
            messages.error(request, f"Select at most {bulk_max_ids()} runs at a time. Nothing was changed.")
            return HttpResponseRedirect(back)
        if act == "compare":
            return HttpResponseRedirect(f"{reverse('runs:compare')}?" + urlencode([("runs", r) for r in run_ids]))
        if act == "delete":
            return HttpResponseRedirect(f"{reverse('runs:bulk_delete')}?" + urlencode([("runs", r) for r in run_ids]))
        runs = list(selectors.run_list(user=request.user).filter(run_id__in=run_ids))
        missing = sorted(set(run_ids) - {r.run_id for r in runs})
        if missing:
            messages.error(request, f"No such run: {summarise_ids(missing)}. Nothing was changed.")
            return HttpResponseRedirect(back)
        if act == "export":
            response = StreamingHttpResponse(
                runs_csv_rows(selectors.run_list(user=request.user).filter(run_id__in=run_ids)), content_type="text/csv"
            )
            response["Content-Disposition"] = f'attachment; filename="runs-selected-{timezone.now():%Y%m%d-%H%M%S}.csv"'
            return response
        try:
            if act in ("favourite", "unfavourite"):
                count = services.runs_set_favourite(runs=runs, actor=request.user, value=act == "favourite")
            elif act in ("tag", "untag"):
                count = services.runs_tag(runs=runs, actor=request.user, tag=request.POST.get("tag", ""), add=act == "tag")
            else:
                messages.error(request, f"Unknown action {act!r}.")
                return HttpResponseRedirect(back)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or "Not allowed.")
            return HttpResponseRedirect(back)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(back)
        messages.success(request, f"{act.capitalize()}: {count} run(s).")
        return HttpResponseRedirect(back)


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


class _WholeFloatInput(forms.NumberInput):
    """Shows 10000000000.0 as 10000000000: a float parameter holding a whole number."""

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return super().format_value(value)


def readable_params_form(form: forms.Form) -> forms.Form:
    """The kind's parameter form with its float inputs showing whole numbers without `.0`."""
    for field in form.fields.values():
        if isinstance(field, forms.FloatField) and type(field.widget) is forms.NumberInput:
            field.widget = _WholeFloatInput(attrs=field.widget.attrs)
    return form


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
    # A kind may need a permission of its own (the FinOps batch: finops_admin), so the page is open to
    # whoever may launch some kind; `_kind` then refuses the kinds this user may not launch.
    allowed = staticmethod(lambda user: bool(kinds_launchable_by(user)))

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
        prefilled = "project" in request.GET or "experiment" in request.GET
        placement_form = PlacementForm(request.GET if prefilled else None, user=request.user)
        # `?dataset=<id>` (the dataset page's launch link) prefills a dataset kind's field, checked as if typed.
        params_form = launch_form_with_dataset(run_kind.params_form(prefix="p"), kind=run_kind.name,
                                               user=request.user, query=request.GET)
        return self._render(request, run_kind, params_form, LaunchMetaForm(), placement_form)

    def post(self, request: HttpRequest, kind: str) -> HttpResponse:
        run_kind = self._kind(request, kind)
        params_form = launch_form_with_dataset(run_kind.params_form(request.POST, prefix="p"), kind=run_kind.name,
                                               user=request.user)
        meta_form = LaunchMetaForm(request.POST)
        placement_form = PlacementForm(request.POST, user=request.user)
        if params_form.is_valid() and meta_form.is_valid() and placement_form.is_valid():
            try:
                # The run and where it is filed commit together (its task is sent on commit).
                with transaction.atomic():
                    run = services.run_create(
                        kind=run_kind.name,
                        params=params_form.cleaned_data,
                        trigger=RunTrigger.MANUAL,
                        owner=request.user,
                        tags=meta_form.cleaned_data["tags"].split(","),
                        notes=meta_form.cleaned_data["notes"],
                    )
                    if placement_form.cleaned_data.get("project"):
                        run_place(actor=request.user, run=run, project=placement_form.cleaned_data["project"],
                                  experiment=placement_form.cleaned_data.get("experiment"))
            except ValidationError as exc:
                for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                    params_form.add_error(field if field in params_form.fields else None, errors)
            else:
                messages.success(request, _launch_flash(run.run_id, run))
                return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
        return self._render(request, run_kind, params_form, meta_form, placement_form, status=400)

    def _render(self, request, run_kind, params_form, meta_form, placement_form, status: int = 200) -> HttpResponse:
        context = {"kind": run_kind, "params_form": readable_params_form(params_form), "meta_form": meta_form,
                   "placement_form": placement_form}
        return render(request, self.template_name, context, status=status)


class RunBulkDeleteView(RoleRequiredMixin, View):
    """Confirm, then delete the runs ticked in the list: all of them or none."""

    template_name = "runs/bulk_delete.html"
    allowed = staticmethod(roles.can_delete_some_runs)

    def _runs(self, request: HttpRequest, run_ids: list[str]) -> list[Any]:
        if len(run_ids) > bulk_max_ids():
            raise BadRequest(f"At most {bulk_max_ids()} runs may be deleted at a time.")
        runs = list(selectors.run_list(user=request.user).filter(run_id__in=run_ids))
        if len(runs) != len(set(run_ids)):
            raise Http404("Some of these runs do not exist or are not visible to you.")
        return runs

    def get(self, request: HttpRequest) -> HttpResponse:
        runs = self._runs(request, request.GET.getlist("runs"))
        refused = [r.run_id for r in runs if not roles.can_delete_run(request.user, r) or r.is_active]
        return render(request, self.template_name, {"runs": runs, "refused": refused})

    def post(self, request: HttpRequest) -> HttpResponse:
        runs = self._runs(request, request.POST.getlist("runs"))
        try:
            deleted = runs_delete(runs=runs, actor=request.user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return render(request, self.template_name, {"runs": runs, "refused": getattr(exc, "refused", [])}, status=403)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, self.template_name, {"runs": runs, "refused": []}, status=400)
        messages.success(request, f"Deleted {len(deleted)} run(s): {summarise_ids(deleted)}.")
        return HttpResponseRedirect(reverse("runs:list"))


def _launch_flash(run_id: str, run: Any, detail: str = "") -> str:
    """What a launch says: queued, or stored to be queued once the task queue is back."""
    if getattr(run, "queue_unreachable", False):
        return f"{run_id} stored{detail}; will be queued when the task queue is back."
    return f"{run_id} queued{detail}."
