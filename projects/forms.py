"""Forms of the project pages, and the launch form's "file under a project" fieldset."""
from __future__ import annotations

import json
from typing import Any

from django import forms

from projects.models import Experiment, ExperimentStatus, Project


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class ProjectCreateForm(ProjectForm):
    members = forms.CharField(required=False, max_length=2000, help_text="Other members' usernames, comma-separated.")

    def clean_members(self) -> list[str]:
        return [m.strip() for m in self.cleaned_data["members"].split(",") if m.strip()]


class JsonObjectField(forms.CharField):
    """A JSON object typed in a text area ({} when empty)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> dict[str, Any]:
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError("Expected a JSON object, e.g. {\"seed\": 7}.")
        return parsed

    def prepare_value(self, value: Any) -> Any:
        return json.dumps(value, indent=1, sort_keys=True) if isinstance(value, dict) else value


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=120)
    purpose = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))
    parameters = JsonObjectField(required=False, max_length=100_000, help_text="A JSON object, e.g. {\"seed\": 7}.")


class ExperimentEditForm(ExperimentForm):
    status = forms.ChoiceField(choices=ExperimentStatus.choices)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)


class DatasetAttachForm(forms.Form):
    dataset = forms.CharField(max_length=200, help_text="A dataset's name: every version of it follows the project.")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A project bundle (.zip) made by a project export.")


class PlacementForm(forms.Form):
    """On a launch form: file the new run under a project the user may edit, and one of its experiments."""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, empty_label="(none)")
    experiment = forms.ModelChoiceField(queryset=Experiment.objects.none(), required=False, empty_label="(none)",
                                        help_text="An active experiment of the chosen project.")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        from projects.selectors import editable_projects

        super().__init__(*args, **kwargs)
        projects = editable_projects(user=user).order_by("name")
        self.fields["project"].queryset = projects
        self.fields["experiment"].queryset = (
            Experiment.objects.filter(project__in=projects, status=ExperimentStatus.ACTIVE)
            .select_related("project").order_by("project__name", "name")
        )
        self.fields["experiment"].label_from_instance = lambda e: f"{e.project.name} / {e.name}"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        project, experiment = data.get("project"), data.get("experiment")
        if experiment is not None and project is None:
            data["project"] = project = experiment.project
        if experiment is not None and experiment.project_id != project.pk:
            self.add_error("experiment", f"{experiment.name} belongs to {experiment.project.name}, not {project.name}.")
        return data
