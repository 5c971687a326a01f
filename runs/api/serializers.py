from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from runs.kinds import all_kinds, get_kind
from runs.models import Run, RunLog, RunOrigin, RunTrigger
from runs.selectors.core import run_is_my_favourite


def _caller(context: dict[str, Any]) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


class RunSerializer(serializers.ModelSerializer):
    # null: a run launched by the system (beat, a command) has no owner; a run that is not a clone no parent.
    owner = serializers.CharField(source="owner.username", read_only=True, default=None, allow_null=True)
    parent = serializers.CharField(source="parent.run_id", read_only=True, default=None, allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    is_demo = serializers.SerializerMethodField()
    is_favourite = serializers.SerializerMethodField(
        help_text="Whether you starred this run (favourites are per user)."
    )
    logs_url = serializers.CharField(read_only=True)
    # Provenance: an imported run's results were not computed here (never cached, never served to others).
    is_imported = serializers.BooleanField(read_only=True)
    is_data_only = serializers.BooleanField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "id", "run_id", "kind", "is_demo", "status", "trigger", "owner", "params", "params_hash",
            "seed", "metrics", "checksum", "is_favourite", "tags", "notes", "parent", "created_at",
            "started_at", "finished_at", "duration_seconds", "progress", "heartbeat_at",
            "error_message", "code_version", "worker", "cancel_requested", "logs_url",
            "origin", "is_imported", "is_data_only", "imported_at", "imported_from",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_favourite(self, run: Run) -> bool:
        return run_is_my_favourite(run, _caller(self.context))

    def get_is_demo(self, run: Run) -> bool:
        return _kind_is_demo(run.kind)


def _representation(field: serializers.Field) -> Any:
    """`field.to_representation`, or for a date-time in DRF's default ISO 8601 output the
    same string made without looking up the settings and the current time zone for each
    value (five per run): the zone is read once, for the whole list."""
    if not (
        isinstance(field, serializers.DateTimeField) and settings.USE_TZ
        and not hasattr(field, "format") and not hasattr(field, "timezone")
        and isinstance(api_settings.DATETIME_FORMAT, str) and api_settings.DATETIME_FORMAT.lower() == ISO_8601
    ):
        return field.to_representation
    zone = field.default_timezone()

    def iso(value: Any) -> Any:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def _kind_is_demo(kind: str) -> bool:
    try:
        return get_kind(kind).is_demo
    except LookupError:
        return False


class RunListSerializer(RunSerializer):
    """A run in a list. `metrics` and `params` appear only when the request chose some
    (`metrics=lcr,rwa_total`, `params=mix`, `fields=metrics.lcr,params.mix`): each holds
    the chosen keys, null where the run has no such value. The chosen columns come
    in the context (`columns`), read from the rows already fetched (no query per run)."""

    metrics = serializers.DictField(
        required=False, help_text="The chosen metrics (only with `metrics=` or `fields=`); null when missing."
    )
    params = serializers.DictField(
        required=False, help_text="The chosen parameters (only with `params=` or `fields=`); null when missing."
    )

    class Meta(RunSerializer.Meta):
        fields = [
            f for f in RunSerializer.Meta.fields if f not in {"notes", "logs_url"}
        ]
        read_only_fields = [f for f in fields if f not in {"params", "metrics"}]

    @property
    def _readable_fields(self):
        # The list defers the JSON columns; reading them unasked would cost a query per run.
        for field in super()._readable_fields:
            if field.field_name not in ("metrics", "params"):
                yield field

    def to_representation(self, run: Run | dict[str, Any]) -> dict[str, Any]:
        data = self._row_representation(run) if isinstance(run, dict) else super().to_representation(run)
        for column in self.context.get("columns") or ():
            data.setdefault(column.space, {})[column.key] = column.value(run)
        return data

    # A row of runs.selectors.listing.run_list_values (the list's lean path): the same
    # fields, in the same order, each formatted by this serializer's own field, without
    # DRF's attribute walk per field and run (most of a 100-run page's time).
    ROW_SOURCES = {"owner": "owner_username", "parent": "parent_run_id", "is_favourite": "is_my_favourite"}

    @cached_property
    def _row_plan(self) -> list[tuple[str, str, Any]]:
        computed = {"is_demo", "is_favourite", "tags", "is_imported", "is_data_only"}
        return [
            (field.field_name, self.ROW_SOURCES.get(field.field_name, field.field_name),
             None if field.field_name in computed else _representation(field))
            for field in self._readable_fields
        ]

    def _row_representation(self, row: dict[str, Any]) -> dict[str, Any]:
        imported = row["origin"] == RunOrigin.IMPORT
        computed = {
            "is_demo": _kind_is_demo(row["kind"]),
            "is_favourite": bool(row["is_my_favourite"]),
            "tags": row["tag_names"],
            "is_imported": imported,
            "is_data_only": imported and row["import_format"] == "parquet",
        }
        data = {}
        for name, source, represent in self._row_plan:
            if represent is None:
                data[name] = computed[name]
            else:
                value = row[source]
                data[name] = None if value is None else represent(value)
        return data


class RunLaunchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    params = serializers.DictField(required=False, default=dict)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [k.name for k in all_kinds()]


class RunLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunLog
        fields = ["id", "created_at", "level", "message"]


class RunKindSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    is_demo = serializers.BooleanField()
    params = serializers.SerializerMethodField()

    def get_params(self, kind: Any) -> dict[str, Any]:
        out = {}
        for name, field in kind.params_form.base_fields.items():
            out[name] = {
                "type": type(field).__name__.replace("Field", "").lower(),
                "required": field.required,
                "initial": field.initial,
                "help": str(field.help_text),
                "min": getattr(field, "min_value", None),
                "max": getattr(field, "max_value", None),
            }
        return out


TRIGGERS_FOR_API = (RunTrigger.API,)


class RunAnnotateSerializer(serializers.Serializer):
    is_favourite = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=64, allow_blank=False), required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20_000)

    def to_representation(self, run: Run) -> dict[str, Any]:
        """The run's current annotations: the browsable API fills its PATCH form with
        them (a run's tags are a related manager, which the list field cannot read)."""
        return {
            "is_favourite": run_is_my_favourite(run, _caller(self.context)),
            "tags": sorted(t.name for t in run.tags.all()),
            "notes": run.notes,
        }


class RunCloneSerializer(serializers.Serializer):
    params = serializers.DictField(required=False, default=dict, help_text="Parameters to change; the rest are copied.")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)


class RunBulkSerializer(serializers.Serializer):
    ACTIONS = ("favourite", "unfavourite", "tag", "untag")
    action = serializers.ChoiceField(choices=ACTIONS)
    runs = serializers.ListField(child=serializers.CharField(max_length=40), min_length=1, max_length=1000)
    tag = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["action"] in ("tag", "untag") and not attrs.get("tag", "").strip():
            raise serializers.ValidationError({"tag": "required for tag and untag"})
        return attrs
