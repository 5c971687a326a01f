"""Pages of the model registry: list, model page, version page, scoring a CSV, and the forms that act."""
from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from accounts import roles
from runs.textsafe import csv_row
from runs.views.pages import RoleRequiredMixin
from simulations.registry import selectors, services
from simulations.registry.models import RegisteredModel
from simulations.registry.scoring import ScoringError, max_rows, resolve_version, score

MAX_SCORE_UPLOAD_BYTES = 20 * 1024 * 1024


def render_markdown(text: str) -> str:
    """A model card as HTML: raw HTML in the markdown is escaped, unsafe link schemes are dropped."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text or "")


class AliasForm(forms.Form):
    alias = forms.SlugField(max_length=50, initial="champion", help_text="champion, challenger or any slug.")
    version = forms.IntegerField(min_value=1)


class CardForm(forms.Form):
    description = forms.CharField(max_length=500, required=False)
    model_card = forms.CharField(required=False, max_length=100_000, widget=forms.Textarea(attrs={"rows": 10}),
                                 help_text="Markdown. Raw HTML is shown as text.")


class RetrainForm(forms.Form):
    dataset = forms.IntegerField(min_value=1, help_text="The dataset to train on with the champion's parameters.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from simulations.training.models import Dataset

        choices = [(d.pk, f"#{d.pk} {d.name} ({d.rows:,} rows)") for d in Dataset.objects.all()[:200]]
        self.fields["dataset"].widget = forms.Select(choices=choices)


class RegisterForm(forms.Form):
    name = forms.SlugField(max_length=100, help_text="The model this run becomes a version of (created when new).")
    notes = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))


class ScoreForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False, help_text="Empty: the alias below.")
    alias = forms.SlugField(max_length=50, required=False, initial="champion")
    file = forms.FileField(help_text="CSV with a header row holding the model's feature columns.")


class ModelListView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_registry)

    def get(self, request: HttpRequest) -> HttpResponse:
        archived = request.GET.get("archived") == "1"
        return render(request, "simulations/registry/model_list.html", {
            "models": selectors.models_visible(request.user, include_archived=archived),
            "archived": archived,
            "can_manage": roles.can_manage_registry(request.user),
        })


def _model_context(request: HttpRequest, model: RegisteredModel, **forms_: Any) -> dict[str, Any]:
    versions = selectors.versions_of(model)
    aliases = selectors.aliases_of(model)
    champion = next((v for v in versions if v.number == aliases.get(services.CHAMPION)), None)
    keys = selectors.metric_keys(versions)
    live = [v for v in versions if v.archived_at is None]
    compare_url = None
    if len(live) >= 2 and live[0].run_id and live[1].run_id:
        compare_url = reverse("runs:compare") + "?" + urlencode({"runs": f"{live[1].source_run_id},{live[0].source_run_id}"})
    curves = None
    if champion is not None:
        c = (champion.metrics or {}).get("curves") or {}
        if c.get("step"):
            curves = {"step": c.get("step"), "train_loss": c.get("train_loss"), "validation_loss": c.get("validation_loss")}
    return {
        "model": model, "versions": versions, "aliases": aliases, "champion": champion,
        "metric_keys": keys,
        "rows": [(v, [(v.metrics or {}).get(k) for k in keys]) for v in versions],
        "history": selectors.metric_history([v for v in versions if v.archived_at is None]),
        "curves": curves,
        "card_html": render_markdown(model.model_card),
        "compare_url": compare_url,
        "can_manage": roles.can_manage_registry(request.user),
        "can_train": roles.can_train_models(request.user),
        "alias_form": forms_.get("alias_form") or AliasForm(initial={"version": versions[0].number if versions else None}),
        "card_form": forms_.get("card_form") or CardForm(initial={"description": model.description,
                                                                    "model_card": model.model_card}),
        "retrain_form": forms_.get("retrain_form") or RetrainForm(),
    }


class ModelDetailView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_registry)

    def get(self, request: HttpRequest, model_name: str) -> HttpResponse:
        model = selectors.model_get(request.user, model_name)
        return render(request, "simulations/registry/model_detail.html", _model_context(request, model))

    def post(self, request: HttpRequest, model_name: str) -> HttpResponse:
        """One of the model page's forms: `action` = alias, card, retrain or archive."""
        model = selectors.model_get(request.user, model_name)
        action = request.POST.get("action", "")
        here = reverse("registry:model", args=[model.name])
        if action == "retrain":
            if not roles.can_train_models(request.user):
                raise PermissionDenied
            form = RetrainForm(request.POST)
            if form.is_valid():
                try:
                    run = services.model_retrain(model=model, dataset_id=form.cleaned_data["dataset"], actor=request.user)
                except ValidationError as exc:
                    form.add_error(None, exc.messages)
                else:
                    messages.success(request, f"Retraining as {run.run_id}.")
                    return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
            return render(request, "simulations/registry/model_detail.html",
                          _model_context(request, model, retrain_form=form), status=400)
        if not roles.can_manage_registry(request.user):
            raise PermissionDenied
        if action == "alias":
            form = AliasForm(request.POST)
            if form.is_valid():
                version = model.versions.filter(number=form.cleaned_data["version"]).first()
                if version is None:
                    form.add_error("version", f"{model.name} has no version {form.cleaned_data['version']}")
                else:
                    try:
                        services.alias_set(model=model, name=form.cleaned_data["alias"], version=version, actor=request.user)
                    except ValidationError as exc:
                        form.add_error(None, exc.messages)
                    else:
                        messages.success(request, f"{form.cleaned_data['alias']} → v{version.number}.")
                        return HttpResponseRedirect(here)
            return render(request, "simulations/registry/model_detail.html",
                          _model_context(request, model, alias_form=form), status=400)
        if action == "card":
            form = CardForm(request.POST)
            if form.is_valid():
                services.model_card_update(model=model, actor=request.user, **form.cleaned_data)
                messages.success(request, "Model card saved.")
                return HttpResponseRedirect(here)
            return render(request, "simulations/registry/model_detail.html",
                          _model_context(request, model, card_form=form), status=400)
        if action == "archive":
            if model.archived_at is None:
                services.model_archive(model=model, actor=request.user)
                messages.success(request, f"{model.name} archived.")
            return HttpResponseRedirect(here)
        return HttpResponse("Unknown action.", status=400, content_type="text/plain")


class VersionDetailView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_registry)

    def get(self, request: HttpRequest, model_name: str, number: int) -> HttpResponse:
        model = selectors.model_get(request.user, model_name)
        version = selectors.version_get(model, number)
        return render(request, "simulations/registry/version_detail.html", {
            "model": model, "version": version,
            "aliases": sorted(a.name for a in version.aliases.all()),
            "metrics": sorted((k, v) for k, v in (version.metrics or {}).items() if isinstance(v, (int, float, str))),
            "can_manage": roles.can_manage_registry(request.user),
        })

    def post(self, request: HttpRequest, model_name: str, number: int) -> HttpResponse:
        """Archive the version (ml_admin, admin)."""
        model = selectors.model_get(request.user, model_name)
        version = selectors.version_get(model, number)
        if not roles.can_manage_registry(request.user):
            raise PermissionDenied
        if version.archived_at is None:
            services.version_archive(version=version, actor=request.user)
            messages.success(request, f"v{number} archived.")
        return HttpResponseRedirect(reverse("registry:version", args=[model.name, number]))


class ScoreView(RoleRequiredMixin, View):
    """Upload a CSV, get it back with the prediction column (and one probability column per class)."""

    allowed = staticmethod(roles.can_view_registry)

    def get(self, request: HttpRequest, model_name: str) -> HttpResponse:
        model = selectors.model_get(request.user, model_name)
        return self._page(request, model, ScoreForm())

    def _page(self, request: HttpRequest, model: RegisteredModel, form: ScoreForm, status: int = 200) -> HttpResponse:
        return render(request, "simulations/registry/score.html",
                      {"model": model, "form": form, "aliases": selectors.aliases_of(model), "max_rows": max_rows()},
                      status=status)

    def post(self, request: HttpRequest, model_name: str) -> HttpResponse:
        model = selectors.model_get(request.user, model_name)
        form = ScoreForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._page(request, model, form, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > MAX_SCORE_UPLOAD_BYTES:
            form.add_error("file", f"larger than {MAX_SCORE_UPLOAD_BYTES // (1024 * 1024)} MB")
            return self._page(request, model, form, status=400)
        try:
            frame = pd.read_csv(upload, nrows=max_rows() + 1)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            form.add_error("file", f"not a readable CSV file ({exc})")
            return self._page(request, model, form, status=400)
        try:
            version = resolve_version(model, alias=form.cleaned_data.get("alias") or None,
                                      version=form.cleaned_data.get("version"))
            result = score(version, frame)
        except ScoringError as exc:
            form.add_error(None, str(exc))
            return self._page(request, model, form, status=exc.status if exc.status in (400, 404, 409) else 400)
        frame = frame.copy()
        frame["prediction"] = result.predictions
        if result.probabilities is not None:
            for i, cls in enumerate(result.classes or []):
                frame[f"probability_{cls}"] = [row[i] for row in result.probabilities]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(csv_row(str(c) for c in frame.columns))
        for row in frame.itertuples(index=False, name=None):
            writer.writerow(csv_row(None if (isinstance(v, float) and v != v) else v for v in row))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{model.name}-v{version.number}-scored.csv"'
        return response


class RegisterRunView(RoleRequiredMixin, View):
    """The run page's "Register" form: the run becomes the next version of a model."""

    allowed = staticmethod(roles.can_manage_registry)

    def post(self, request: HttpRequest, run_id: str) -> HttpResponse:
        from runs.selectors import run_get

        run = run_get(user=request.user, run_id=run_id)
        form = RegisterForm(request.POST)
        if not form.is_valid():
            for field, errs in form.errors.items():
                messages.error(request, f"{field}: {' '.join(errs)}")
            return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
        try:
            version = services.model_register(run=run, name=form.cleaned_data["name"], actor=request.user,
                                              notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(reverse("runs:detail", args=[run.run_id]))
        messages.success(request, f"Registered as {version.model.name} v{version.number}.")
        return HttpResponseRedirect(reverse("registry:version", args=[version.model.name, version.number]))
