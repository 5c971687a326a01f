"""What the OpenAPI schema says about errors, for every API view at once.

Every endpoint can answer with errors that no single view raises itself: 400 for a
malformed request (a NUL byte anywhere, bad JSON, an invalid field), 401 without
credentials, 403 when a role forbids it, 404 for an object the caller may not see
or a page past the end, 413/415 for an upload too large or of the wrong type, 429
when throttled. `RunsightAutoSchema` documents each of those an operation can
really give, with one of two shared bodies:

- `Error`: `{"detail": "what is wrong"}` (some errors add keys, e.g. `refused`, `run_id`);
- `ValidationErrors`: `{"<field>": ["what is wrong", …], …}`, DRF's answer to invalid input.

What a view documents itself (a 409 with its own shape, a 400 naming row and
column) is kept; a 400 then says it may also take the generic shapes.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated

ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERRORS = {"$ref": "#/components/schemas/ValidationErrors"}

COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "An error, in one sentence. Some errors add keys (e.g. `refused`, `run_id`).",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
        "additionalProperties": True,
    },
    "ValidationErrors": {
        "type": "object",
        "description": (
            "Invalid input: each offending field (or `non_field_errors`, or `detail`) with what is wrong "
            "with it; list and nested fields give their messages per item or per key."
        ),
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {}}, {"type": "string"}, {"type": "object"}],
        },
    },
}

DESCRIPTIONS = {
    "400": "Invalid request: a bad parameter or body (each field says what is wrong), or a NUL byte in the address.",
    "401": "No credentials, or an unknown, revoked or malformed API key.",
    "403": "The caller's roles do not allow this.",
    "404": "No such object visible to the caller (or a page past the last one).",
    "413": "The upload is larger than the configured limit.",
    "415": "The request body is not of a documented media type.",
    "429": "Too many requests; retry after the number of seconds in `Retry-After`.",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _error_response(code: str, schema: dict[str, Any] = ERROR) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


class RunsightAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error answers each operation can give."""

    def _error_codes(self) -> list[str]:
        view, codes = self.view, ["400"]
        permissions = [type(p) for p in view.get_permissions()]
        if any(p is not AllowAny for p in permissions):
            codes.append("401")
        if self.method in UNSAFE or any(p not in (IsAuthenticated, AllowAny) for p in permissions):
            codes.append("403")  # a role check, or CSRF for a session's unsafe request
        if "{" in self.path or (self._is_list_view() and getattr(view, "pagination_class", None)):
            codes.append("404")
        if self.method in UNSAFE and self._get_request_body() is not None:
            codes.append("415")
            if any(isinstance(p, (MultiPartParser, FileUploadParser)) for p in view.get_parsers()):
                codes.append("413")
        if view.get_throttles():
            codes.append("429")
        return codes

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code == "400":
                responses["400"] = self._bad_request(responses.get("400"))
            elif code not in responses:
                responses[code] = _error_response(code)
        for code, response in responses.items():
            if code >= "400" and not response.get("content"):  # declared with a description only
                response["content"] = {"application/json": {"schema": ERROR}}
        return responses

    @staticmethod
    def _bad_request(declared: dict[str, Any] | None) -> dict[str, Any]:
        """A view's own 400 body, or the generic ones: DRF answers invalid fields before the view runs."""
        shapes = [ERROR, VALIDATION_ERRORS]
        own = ((declared or {}).get("content") or {}).get("application/json", {}).get("schema")
        if own and own not in shapes:
            shapes.insert(0, own)
        response = _error_response("400", {"anyOf": shapes})
        if declared and declared.get("description"):
            response["description"] = declared["description"]
        return response


def postprocess_error_components(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the shared error bodies to the schema's components (SPECTACULAR_SETTINGS hook)."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    return result


# ---------------------------------------------------------------------------
# The launch request: each kind's parameters, from the kinds registry
# ---------------------------------------------------------------------------
def _api_field(field: Any) -> Any:
    """The DRF field that documents one field of a kind's parameter form."""
    from django import forms
    from rest_framework import serializers

    options: dict[str, Any] = {"help_text": str(field.help_text or "") or None}
    if field.initial is not None:
        options["default"] = field.initial  # the form fills in what the request leaves out
    elif not field.required:
        options["required"] = False
    bounds = {k: getattr(field, k, None) for k in ("min_value", "max_value")}
    bounds = {k: v for k, v in bounds.items() if v is not None}
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**options)
    if isinstance(field, (forms.FloatField, forms.DecimalField)):  # before IntegerField: their subclass
        return serializers.FloatField(**options, **bounds)
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(**options, **bounds)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=list(field.choices), **options)
    if isinstance(field, forms.CharField):
        return serializers.CharField(max_length=field.max_length, **options)
    return serializers.JSONField(**options)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def kind_params_serializer(kind: Any) -> Any:
    """A serializer class describing `kind`'s parameters (its launch form's fields)."""
    from rest_framework import serializers

    fields = {name: _api_field(field) for name, field in kind.params_form.base_fields.items()}
    return type(f"{_camel(kind.name)}ParamsSerializer", (serializers.Serializer,), fields)


def _launch_serializers() -> dict[str, Any]:
    from rest_framework import serializers

    from runs.kinds import all_kinds

    out = {}
    for kind in all_kinds():
        fields = {
            "kind": serializers.ChoiceField(choices=[kind.name], help_text=kind.label),
            "params": kind_params_serializer(kind)(required=False, help_text=f"Parameters of a {kind.label} run."),
            "tags": serializers.ListField(child=serializers.CharField(max_length=64), required=False),
            "notes": serializers.CharField(required=False, allow_blank=True),
        }
        out[kind.name] = type(f"RunLaunch{_camel(kind.name)}Serializer", (serializers.Serializer,), fields)
    return out


def launch_request() -> Any:
    """The body of POST /api/runs/: one shape per registered kind, told apart by `kind`."""
    from drf_spectacular.utils import PolymorphicProxySerializer

    return PolymorphicProxySerializer(
        component_name="RunLaunch",
        serializers=_launch_serializers,  # read when the schema is built: every kind is registered by then
        resource_type_field_name="kind",
    )
