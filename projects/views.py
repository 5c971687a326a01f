"""Project pages: list, create, import; a project with its experiments, datasets, runs, lock and
timeline; an experiment. Every change is one service call; refusals become messages or 403."""
from __future__ import annotations

from typing import Any, Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import roles
from projects import selectors, services
from projects.exchange import project_export, project_import, project_import_refusal
from projects.forms import (
    DatasetAttachForm,
    ExperimentEditForm,
    ExperimentForm,
    ImportForm,
    MemberForm,
    ProjectCreateForm,
    ProjectForm,
)
from projects.models import Experiment, Project
from runs.views.pages import RoleRequiredMixin

PROJECT_RUNS_SHOWN = 25


def _project(request: HttpRequest, project_id: int) -> Project:
    project = selectors.project_get(user=request.user, pk=project_id)
    if project is None:
        raise Http404("No such project.")
    return project


def _experiment(request: HttpRequest, experiment_id: int) -> Experiment:
    experiment = selectors.experiment_list(user=request.user).filter(pk=experiment_id).first()
    if experiment is None:
        raise Http404("No such experiment.")
    return experiment


def _refusal_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{'' if k == '__all__' else k + ': '}{' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _apply(request: HttpRequest, service: Callable[..., Any], done: str, **kwargs: Any) -> bool:
    """Call a write service; a held lock or bad input becomes a message. Role refusals stay 403."""
    try:
        service(**kwargs)
    except services.ProjectLocked as exc:
        messages.error(request, str(exc))
        return False
    except ValidationError as exc:
        messages.error(request, _refusal_text(exc))
        return False
    messages.success(request, done)
    return True


class ProjectListView(RoleRequiredMixin, TemplateView):
    template_name = "projects/project_list.html"
    allowed = staticmethod(roles.can_view_projects)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["projects"] = selectors.project_list(user=self.request.user).order_by("name")
        context["can_create"] = roles.can_create_project(self.request.user)
        context["can_import"] = roles.can_import_projects(self.request.user)
        return context


class ProjectCreateView(RoleRequiredMixin, View):
    template_name = "projects/project_create.html"
    allowed = staticmethod(roles.can_create_project)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ProjectCreateForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProjectCreateForm(request.POST)
        if form.is_valid():
            try:
                members = [services.project_member_by_username(u) for u in form.cleaned_data["members"]]
                project = services.project_create(actor=request.user, name=form.cleaned_data["name"],
                                                  description=form.cleaned_data["description"], members=members)
            except ValidationError as exc:
                form.add_error(None, _refusal_text(exc))
            else:
                messages.success(request, f"Project {project.name} created; you hold its editing lock.")
                return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))
        return render(request, self.template_name, {"form": form}, status=400)


class ProjectDetailView(RoleRequiredMixin, TemplateView):
    template_name = "projects/project_detail.html"
    allowed = staticmethod(roles.can_view_projects)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from runs import selectors as run_selectors
        from runs.filters import RunFilter

        context = super().get_context_data(**kwargs)
        request = self.request
        project = _project(request, kwargs["project_id"])
        lock = selectors.project_lock_state(project=project, user=request.user)
        can_edit = roles.can_edit_project(request.user, project)
        # The run list's own FilterSet, held to this project: the same rows /runs/?project=… shows.
        runs = RunFilter({"project": str(project.pk)}, queryset=run_selectors.run_list(user=request.user),
                         request=request).qs
        context.update(
            project=project,
            lock=lock,
            can_edit=can_edit,
            may_edit_now=can_edit and (lock.held_by_me or not lock.held),
            can_break=roles.can_break_project_lock(request.user) and lock.held and not lock.held_by_me,
            members=selectors.project_members(project=project),
            experiments=selectors.experiment_list(user=request.user, project=project).order_by("name"),
            datasets=selectors.project_datasets(project=project),
            runs=list(runs.select_related("owner")[:PROJECT_RUNS_SHOWN]),
            runs_total=runs.count(),
            timeline=selectors.project_timeline(project=project, limit=50),
            edit_form=ProjectForm(initial={"name": project.name, "description": project.description}),
            experiment_form=ExperimentForm(),
            member_form=MemberForm(),
            dataset_form=DatasetAttachForm(),
            run_list_url=f"{reverse('runs:list')}?project={project.pk}",
            project_target=services.target_of(project),
        )
        return context


class ProjectEditView(RoleRequiredMixin, View):
    """POST: change name and description (needs the lock)."""

    allowed = staticmethod(roles.can_view_projects)

    def post(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = _project(request, project_id)
        if not roles.can_edit_project(request.user, project):
            raise PermissionDenied
        form = ProjectForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the project a name (at most 120 characters).")
        else:
            _apply(request, services.project_update, "Project saved.", actor=request.user, project=project,
                   changes=form.cleaned_data)
        return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))


class ProjectLockView(RoleRequiredMixin, View):
    """POST action=take|release|break."""

    allowed = staticmethod(roles.can_view_projects)

    def post(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = _project(request, project_id)
        if not (roles.can_edit_project(request.user, project) or roles.can_break_project_lock(request.user)):
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "break":
            if not roles.can_break_project_lock(request.user):
                raise PermissionDenied
            holder = services.project_lock_break(actor=request.user, project=project)
            messages.success(request, f"Lock of {holder} broken." if holder else "The lock was free.")
        elif action in ("take", "release"):
            if not roles.can_edit_project(request.user, project):
                raise PermissionDenied
            if action == "take":
                _apply(request, services.project_lock_take, "You hold the editing lock.", actor=request.user,
                       project=project)
            else:
                try:
                    services.project_lock_release(actor=request.user, project=project)
                    messages.success(request, "Lock released.")
                except PermissionDenied as exc:
                    messages.error(request, str(exc))
        else:
            messages.error(request, "Choose take, release or break.")
        return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))


class ProjectMembersView(RoleRequiredMixin, View):
    """POST action=add|remove, username."""

    allowed = staticmethod(roles.can_view_projects)

    def post(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = _project(request, project_id)
        if not roles.can_edit_project(request.user, project):
            raise PermissionDenied
        form = MemberForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Name an account.")
        else:
            try:
                user = services.project_member_by_username(form.cleaned_data["username"])
            except ValidationError as exc:
                messages.error(request, _refusal_text(exc))
            else:
                remove = request.POST.get("action") == "remove"
                service = services.project_member_remove if remove else services.project_member_add
                _apply(request, service, f"{user.get_username()} {'removed' if remove else 'added'}.",
                       actor=request.user, project=project, user=user)
        return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))


class ProjectDatasetsView(RoleRequiredMixin, View):
    """POST action=attach|detach, dataset (a name)."""

    allowed = staticmethod(roles.can_view_projects)

    def post(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = _project(request, project_id)
        if not roles.can_edit_project(request.user, project):
            raise PermissionDenied
        form = DatasetAttachForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Name a dataset.")
        else:
            name = form.cleaned_data["dataset"]
            detach = request.POST.get("action") == "detach"
            service = services.project_dataset_detach if detach else services.project_dataset_attach
            _apply(request, service, f"Dataset {name} {'detached' if detach else 'attached'}.", actor=request.user,
                   project=project, dataset_name=name)
        return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))


class ExperimentCreateView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_projects)

    def post(self, request: HttpRequest, project_id: int) -> HttpResponse:
        project = _project(request, project_id)
        if not roles.can_edit_project(request.user, project):
            raise PermissionDenied
        form = ExperimentForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        else:
            _apply(request, services.experiment_create, f"Experiment {form.cleaned_data['name']} created.",
                   actor=request.user, project=project, **form.cleaned_data)
        return HttpResponseRedirect(reverse("projects:detail", args=[project.pk]))


class ExperimentDetailView(RoleRequiredMixin, View):
    """An experiment: purpose, parameters, status, its runs; members edit it under the project's lock."""

    template_name = "projects/experiment_detail.html"
    allowed = staticmethod(roles.can_view_projects)

    def get(self, request: HttpRequest, experiment_id: int) -> HttpResponse:
        experiment = _experiment(request, experiment_id)
        form = ExperimentEditForm(initial={"name": experiment.name, "purpose": experiment.purpose,
                                           "parameters": experiment.parameters, "status": experiment.status})
        return self._render(request, experiment, form)

    def post(self, request: HttpRequest, experiment_id: int) -> HttpResponse:
        experiment = _experiment(request, experiment_id)
        if not roles.can_edit_project(request.user, experiment.project):
            raise PermissionDenied
        form = ExperimentEditForm(request.POST)
        if form.is_valid():
            try:
                services.experiment_update(actor=request.user, experiment=experiment, changes=form.cleaned_data)
            except (services.ProjectLocked, ValidationError) as exc:
                form.add_error(None, str(exc) if isinstance(exc, services.ProjectLocked) else _refusal_text(exc))
            else:
                messages.success(request, "Experiment saved.")
                return HttpResponseRedirect(reverse("projects:experiment", args=[experiment.pk]))
        return self._render(request, experiment, form, status=400)

    def _render(self, request: HttpRequest, experiment: Experiment, form: Any, status: int = 200) -> HttpResponse:
        from runs import selectors as run_selectors
        from runs.filters import RunFilter

        project = experiment.project
        lock = selectors.project_lock_state(project=project, user=request.user)
        can_edit = roles.can_edit_project(request.user, project)
        runs = RunFilter({"experiment": str(experiment.pk)}, queryset=run_selectors.run_list(user=request.user),
                         request=request).qs
        context = {
            "experiment": experiment, "project": project, "form": form, "lock": lock, "can_edit": can_edit,
            "may_edit_now": can_edit and (lock.held_by_me or not lock.held),
            "runs": list(runs.select_related("owner")[:PROJECT_RUNS_SHOWN]), "runs_total": runs.count(),
            "run_list_url": f"{reverse('runs:list')}?project={project.pk}&experiment={experiment.pk}",
            # The project's datasets, linked with the experiment: their "Launch a run" files the run here.
            "datasets": selectors.project_datasets(project=project),
        }
        return render(request, self.template_name, context, status=status)


class ProjectExportView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_projects)

    def get(self, request: HttpRequest, project_id: int) -> HttpResponse:
        export = project_export(project=_project(request, project_id), actor=request.user)
        response = StreamingHttpResponse(export.chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class ProjectImportView(RoleRequiredMixin, View):
    template_name = "projects/project_import.html"
    allowed = staticmethod(roles.can_import_projects)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ImportForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        refusal = project_import_refusal(request.META.get("CONTENT_LENGTH"))
        if refusal:
            return render(request, self.template_name, {"form": ImportForm(), "refusal": refusal}, status=413)
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result = project_import(file=form.cleaned_data["file"], actor=request.user)
            except PermissionDenied as exc:  # a held lock on the project it adds to
                form.add_error(None, str(exc))
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                messages.success(request, result.summary)
                return HttpResponseRedirect(reverse("projects:detail", args=[result.project.pk]))
        return render(request, self.template_name, {"form": form}, status=400)
