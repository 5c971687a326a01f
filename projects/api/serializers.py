"""Shapes of the projects API: what it answers and what it takes."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.models import Experiment, ExperimentStatus, Project


class LockStateSerializer(serializers.Serializer):
    held = serializers.BooleanField()
    holder = serializers.CharField(allow_null=True)
    taken_at = serializers.DateTimeField(allow_null=True)
    last_active_at = serializers.DateTimeField(allow_null=True)
    held_by_me = serializers.BooleanField()
    idle_seconds_allowed = serializers.IntegerField()


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    members = serializers.SerializerMethodField()
    datasets = serializers.SerializerMethodField()
    experiment_count = serializers.IntegerField(read_only=True, required=False)
    run_count = serializers.IntegerField(read_only=True, required=False)
    lock = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "uid", "name", "description", "owner", "members", "datasets", "experiment_count",
                  "run_count", "created_at", "updated_at", "imported_at", "lock"]
        read_only_fields = fields

    def get_members(self, project: Project) -> list[str]:
        return sorted(project.members.values_list("user__username", flat=True))

    def get_datasets(self, project: Project) -> list[str]:
        return sorted(project.datasets.values_list("dataset_name", flat=True))

    @extend_schema_field(LockStateSerializer)
    def get_lock(self, project: Project) -> dict[str, Any]:
        return LockStateSerializer(lock_state_data(project, self.context["request"].user)).data


def lock_state_data(project: Project, user: Any) -> dict[str, Any]:
    """The lock as `user` sees it, with the idle time after which it expires."""
    from django.conf import settings

    from projects.selectors import project_lock_state

    state = project_lock_state(project=project, user=user)
    return {"held": state.held, "holder": state.holder, "taken_at": state.taken_at,
            "last_active_at": state.last_active_at, "held_by_me": state.held_by_me,
            "idle_seconds_allowed": settings.PROJECT_LOCK_IDLE_SECONDS}


class ProjectCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    members = serializers.ListField(child=serializers.CharField(max_length=150), required=False, max_length=200,
                                    help_text="Usernames of the other members.")


class ProjectUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class DatasetAttachSerializer(serializers.Serializer):
    dataset = serializers.CharField(max_length=200, help_text="A dataset's name: every version follows.")


class FileRunSerializer(serializers.Serializer):
    run_id = serializers.CharField(max_length=40)
    experiment = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62,
                                          help_text="An experiment of this project (its id).")


class PlacementSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    project = serializers.IntegerField()
    experiment = serializers.IntegerField(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer):
    created_at = serializers.DateTimeField()
    actor_name = serializers.CharField()
    action = serializers.CharField()
    target = serializers.CharField()
    detail = serializers.JSONField()
    surface = serializers.CharField()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A project bundle (.zip) made by a project export.")


class ImportResultSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    uid = serializers.UUIDField()
    name = serializers.CharField()
    created = serializers.BooleanField()
    experiments_added = serializers.IntegerField()
    datasets_added = serializers.IntegerField()
    runs_added = serializers.IntegerField()
    runs_filed = serializers.IntegerField()
    checksum = serializers.CharField()
    summary = serializers.CharField()


class LockedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    holder = serializers.CharField(required=False, help_text="Who holds the lock (a lock refusal only).")
    taken_at = serializers.DateTimeField(required=False, help_text="Since when (a lock refusal only).")


class ExperimentSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    run_count = serializers.IntegerField(read_only=True, required=False)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Experiment
        fields = ["id", "uid", "project", "project_name", "name", "purpose", "parameters", "tags", "status",
                  "run_count", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class ExperimentCreateSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1, max_value=2**62)
    name = serializers.CharField(max_length=120)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=10_000, default="")
    parameters = serializers.DictField(required=False, default=dict)
    tags = serializers.DictField(required=False, default=dict)


class ExperimentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    parameters = serializers.DictField(required=False)
    tags = serializers.DictField(required=False)
    status = serializers.ChoiceField(choices=ExperimentStatus.choices, required=False)
