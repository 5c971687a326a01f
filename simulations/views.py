"""Pages of the simulations app: the upload page and a simulation run's downloads."""
from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views import View

from runs import selectors as run_selectors
from runs.artifacts import artifact_iter
from runs.downloads import as_attachment, download_content_type
from runs.models import Run
from runs.views.pages import RoleRequiredMixin
from simulations import conf
from simulations.engine import CapitalFormatError, PositionsFormatError, frame_to_parquet_bytes
from simulations.format_doc import example_positions_csv, positions_format_html
from simulations.forms import ComputeForm, compute_settings
from simulations.results import PARQUET_TYPE, XLSX_TYPE, aggregate_documents
from simulations.selectors import results_context
from simulations.services import ReportUnavailable, simulation_report_get
from simulations.user_files import BookMetrics, compute_book, load_capital


def simulation_run(user: Any, run_id: str) -> Run:
    """A simulation run the user may see, or 404 (as for any run they may not see)."""
    run = run_selectors.run_get(user=user, run_id=run_id)
    if run.kind != "simulation":
        raise Http404("Not a simulation run")
    return run


def read_book(form: ComputeForm) -> BookMetrics | None:
    """Compute the uploaded book, or put the file's problem on the form (row and column) and return None."""
    upload = form.cleaned_data["positions"]
    capital_file = form.cleaned_data.get("capital")
    try:
        settings = compute_settings(form.cleaned_data)
    except ValueError as exc:
        form.add_error(None, str(exc))
        return None
    try:
        capital = load_capital(capital_file.read()) if capital_file else None
    except CapitalFormatError as exc:
        form.add_error("capital", str(exc))
        return None
    try:
        return compute_book(
            upload.file, filename=upload.name, capital=capital, max_positions=conf.compute_max_positions(),
            settings=settings,
        )
    except PositionsFormatError as exc:
        form.add_error("positions", str(exc))
        return None


class PositionsFormatView(RoleRequiredMixin, View):
    """The positions format (docs/positions_format.md) as a page, with the example file."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "simulations/positions_format.html", {"doc": positions_format_html()})


class PositionsExampleView(RoleRequiredMixin, View):
    """A small positions file in the documented format, to try the compute page with."""

    def get(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(example_positions_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="example-positions.csv"'
        return response


class ComputeView(RoleRequiredMixin, View):
    """Every metric of the user's own book. Stores nothing: the result is the response."""

    template_name = "simulations/compute.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ComputeForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ComputeForm(request.POST, request.FILES)
        refused = getattr(request, "upload_refused", None)  # set while streaming: see config.uploads
        if refused:
            form.add_error("positions", refused)
        book = read_book(form) if form.is_valid() else None
        if book is None:
            return render(request, self.template_name, {"form": form}, status=400)
        if request.POST.get("action") == "explain":
            stem = form.cleaned_data["positions"].name.rsplit(".", 1)[0] or "positions"
            response = HttpResponse(frame_to_parquet_bytes(book.result.explain), content_type=PARQUET_TYPE)
            as_attachment(response, f"{stem}-explain.parquet")
            return response
        context = {
            "form": ComputeForm(),
            "book": book,
            "filename": form.cleaned_data["positions"].name,
            "r": results_context(aggregate_documents(book.result)),
        }
        return render(request, self.template_name, context)


class RunReportView(RoleRequiredMixin, View):
    """The Excel report of a simulation run (built once per parameter set, then cached)."""

    def get(self, request: HttpRequest, run_id: str) -> HttpResponse:
        run = simulation_run(request.user, run_id)
        try:
            data, _ = simulation_report_get(run=run)
        except ReportUnavailable as exc:
            raise Http404(str(exc)) from None
        response = HttpResponse(data, content_type=XLSX_TYPE)
        as_attachment(response, f"{run.run_id}-report.xlsx")
        return response


class RunFileView(RoleRequiredMixin, View):
    """One result file of a simulation run, streamed from the artifact store."""

    def get(self, request: HttpRequest, run_id: str, name: str) -> StreamingHttpResponse:
        run = simulation_run(request.user, run_id)
        artifact = run.artifacts.filter(name=name).first()
        if artifact is None:
            raise Http404("No such result file")
        # The stored content type is the producer's (an importer's): never sent. Ours, by name.
        response = StreamingHttpResponse(artifact_iter(artifact), content_type=download_content_type(artifact.name))
        response["Content-Length"] = str(artifact.size_bytes)
        as_attachment(response, f"{run.run_id}-{artifact.name}")
        return response
