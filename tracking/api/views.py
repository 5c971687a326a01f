"""The MLflow-compatible REST API: the part of /api/2.0/mlflow/ that MLflow's Python client
uses to log and search runs. Bodies and errors have MLflow's shape (`error_code`,
`message`); the work is in tracking.services and tracking.selectors."""
from __future__ import annotations

import math
from typing import Any, Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import roles
from accounts.authentication import ApiKeyAuthentication
from runs.models import Run
from tracking import experiments, selectors, services
from tracking.authentication import BearerApiKeyAuthentication
from tracking.errors import TrackingError, denied, invalid, not_found

# DRF's refusals, in MLflow's words.
_DRF_CODES: dict[type, str] = {
    exceptions.NotAuthenticated: "UNAUTHENTICATED",
    exceptions.AuthenticationFailed: "UNAUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.Throttled: "REQUEST_LIMIT_EXCEEDED",
    exceptions.ParseError: "BAD_REQUEST",
    exceptions.UnsupportedMediaType: "BAD_REQUEST",
    exceptions.MethodNotAllowed: "ENDPOINT_NOT_FOUND",
    exceptions.NotFound: "RESOURCE_DOES_NOT_EXIST",
    exceptions.ValidationError: "INVALID_PARAMETER_VALUE",
}


class MlflowView(APIView):
    """Base of every endpoint: API keys (Bearer or Api-Key) or a session; answers in MLflow's shape."""

    authentication_classes = [BearerApiKeyAuthentication, ApiKeyAuthentication, SessionAuthentication]
    # Who may read (see runs) or write (track runs) is asked per endpoint, in `allowed`.
    allowed: Callable[[Any], bool] = staticmethod(roles.can_view_runs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not type(self).allowed(request.user):
            raise denied("Your roles do not allow this.")

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TrackingError):
            return Response(exc.body(), status=exc.status)
        if isinstance(exc, selectors.SearchRefused):
            return Response(invalid(str(exc)).body(), status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, exceptions.APIException):
            response = super().handle_exception(exc)  # keeps WWW-Authenticate and Retry-After
            code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), "BAD_REQUEST")
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            response.data = {"error_code": code, "message": str(detail)}
            return response
        return super().handle_exception(exc)

    # --- reading the request -------------------------------------------------
    def fields(self, request: Request) -> dict[str, Any]:
        """The request's fields: the JSON body of a POST, the query string of a GET."""
        if request.method == "GET":
            return {key: request.query_params.get(key) for key in request.query_params}
        data = request.data
        if not isinstance(data, dict):
            raise TrackingError("BAD_REQUEST", "The request body must be a JSON object.")
        return data


def _string(args: dict[str, Any], key: str, *, required: bool = False, default: str = "") -> str:
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{key}'.")
        return default
    if not isinstance(value, str):
        raise invalid(f"Invalid value {value!r} for parameter '{key}': it must be a string.")
    return value


def _integer(args: dict[str, Any], key: str, *, default: int | None = None) -> int | None:
    value = args.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{key}': it must be an integer.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(f"Invalid value {value!r} for parameter '{key}': it must be an integer.") from None
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"Invalid value {value!r} for parameter '{key}': it must be an integer.")
    return number


def _number(value: Any, where: str) -> float:
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"Invalid value {value!r} for {where}: it must be a number.")
    return float(value)


def _string_list(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"Invalid value for parameter '{key}': it must be a list of strings.")
    return value


def _key_values(args: dict[str, Any], key: str) -> dict[str, str]:
    value = args.get(key) or []
    if not isinstance(value, list):
        raise invalid(f"Invalid value for parameter '{key}': it must be a list of {{key, value}} objects.")
    out: dict[str, str] = {}
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise invalid(f"Invalid value for parameter '{key}': each item needs a string 'key'.")
        raw = item.get("value", "")
        out[item["key"]] = raw if isinstance(raw, str) else str(raw)
    return out


def _metrics(items: Any, now_ms: int) -> list[services.MetricValue]:
    if not isinstance(items, list):
        raise invalid("Invalid value for parameter 'metrics': it must be a list.")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise invalid(f"Invalid value for metrics[{index}]: it needs a string 'key'.")
        if "value" not in item:
            raise invalid(f"Missing value for required parameter 'metrics[{index}].value'.")
        out.append(_metric(item, f"metrics[{index}]", now_ms))
    return out


def _metric(args: dict[str, Any], where: str, now_ms: int) -> services.MetricValue:
    value = _number(args.get("value"), f"{where}.value")
    timestamp = _integer(args, "timestamp", default=now_ms)
    step = _integer(args, "step", default=0)
    return services.MetricValue(key=args["key"], value=value, timestamp=int(timestamp), step=int(step))


def _now_ms() -> int:
    from django.utils import timezone

    return int(timezone.now().timestamp() * 1000)


def _run(request: Request, args: dict[str, Any]) -> Run:
    run_id = _string(args, "run_id") or _string(args, "run_uuid")
    if not run_id:
        raise invalid("Missing value for required parameter 'run_id'.")
    try:
        return selectors.run_get(user=request.user, run_id=run_id)
    except selectors.RunNotFound as exc:
        raise not_found(str(exc)) from None


class MlflowErrorSerializer(serializers.Serializer):
    error_code = serializers.CharField(help_text="One of MLflow's error codes, e.g. INVALID_PARAMETER_VALUE.")
    message = serializers.CharField()


_ERRORS = {
    400: "Invalid input (INVALID_PARAMETER_VALUE, BAD_REQUEST, RESOURCE_ALREADY_EXISTS).",
    401: "No credentials, or a bad API key (UNAUTHENTICATED).",
    403: "The caller's roles do not allow it (PERMISSION_DENIED).",
    404: "No such run or experiment visible to the caller (RESOURCE_DOES_NOT_EXIST).",
    409: "The experiment's project is being edited by someone else (RESOURCE_CONFLICT).",
    415: "The body is not JSON (BAD_REQUEST).",
    429: "Too many requests (REQUEST_LIMIT_EXCEEDED).",
}


def _documented(name: str, answer: str, *, body: bool = False, query: tuple[str, ...] = ()) -> Any:
    """The OpenAPI description of one MLflow endpoint: MLflow's JSON in, MLflow's JSON out, and
    every error in MLflow's shape (docs/mlflow.md; the messages are MLflow's REST API's)."""
    codes = [400, 401, 403, 404, 429] + ([409, 415] if body else [])
    return extend_schema(
        operation_id=f"mlflow_{name}",
        tags=["mlflow"],
        request=OpenApiTypes.OBJECT if body else None,
        parameters=[OpenApiParameter(q, str, required=False) for q in query],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description=answer),
            **{code: OpenApiResponse(MlflowErrorSerializer, description=_ERRORS[code]) for code in codes},
        },
    )


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------
class ExperimentSearchView(MlflowView):
    """POST (or GET) experiments/search: every experiment, Default first; `filter` on the name."""

    @_documented("experiments_search", "{experiments: [...], next_page_token}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        max_results = _integer(args, "max_results", default=1000)
        if not 1 <= max_results <= 50_000:
            raise invalid(f"max_results must be between 1 and 50000, not {max_results}.")
        found = experiments.experiment_list(user=request.user)
        name_filter = _string(args, "filter")
        if name_filter:
            found = [e for e in found if _name_matches(e.name, name_filter)]
        offset = _integer(args, "page_token", default=0) or 0
        page = found[offset: offset + max_results]
        body: dict[str, Any] = {"experiments": [e.as_mlflow() for e in page]}
        if offset + max_results < len(found):
            body["next_page_token"] = str(offset + max_results)
        return Response(body)

    @_documented("experiments_search_get", "{experiments: [...], next_page_token}",
                 query=("max_results", "filter", "page_token"))
    def get(self, request: Request) -> Response:
        return self.post(request)


def _name_matches(name: str, text: str) -> bool:
    """`name = 'x'`, `name LIKE 'x%'`, `name ILIKE …`, `name != 'x'`: the filters MLflow's client sends."""
    import re

    match = re.fullmatch(r"\s*(?:attributes\.)?(?:name|`name`)\s*(=|!=|LIKE|ILIKE)\s*(['\"])(.*)\2\s*", text,
                         re.IGNORECASE | re.DOTALL)
    if not match:
        raise invalid(f"Invalid experiment filter {text!r}: only name =, !=, LIKE or ILIKE '<value>' is supported.")
    op, value = match[1].upper(), match[3]
    if op == "=":
        return name == value
    if op == "!=":
        return name != value
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
    return re.fullmatch(pattern, name, re.IGNORECASE if op == "ILIKE" else 0) is not None


class ExperimentGetView(MlflowView):
    @_documented("experiments_get", "{experiment: {...}}", query=("experiment_id",))
    def get(self, request: Request) -> Response:
        experiment_id = _string(self.fields(request), "experiment_id", required=True)
        experiment = experiments.experiment_get(user=request.user, experiment_id=experiment_id)
        return Response({"experiment": experiment.as_mlflow()})


class ExperimentGetByNameView(MlflowView):
    @_documented("experiments_get_by_name", "{experiment: {...}}", query=("experiment_name",))
    def get(self, request: Request) -> Response:
        name = _string(self.fields(request), "experiment_name", required=True)
        experiment = experiments.experiment_get_by_name(user=request.user, name=name)
        return Response({"experiment": experiment.as_mlflow()})


class ExperimentCreateView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("experiments_create", "{experiment_id}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        experiment = services.experiment_create(actor=request.user, name=args.get("name"), tags=_key_values(args, "tags"))
        return Response({"experiment_id": experiment.experiment_id})


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------
class RunSearchView(MlflowView):
    """runs/search: `filter` and `order_by` in MLflow's syntax, over the runs the caller may see."""

    @_documented("runs_search", "{runs: [...], next_page_token}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        order_by = _string_list(args, "order_by")
        experiment_ids = _string_list(args, "experiment_ids")
        if not experiment_ids:
            raise invalid("Missing value for required parameter 'experiment_ids'.")
        experiments.check_ids(user=request.user, experiment_ids=experiment_ids)
        rows, token = selectors.runs_search(
            user=request.user,
            experiment_ids=experiment_ids,
            filter_string=_string(args, "filter"),
            order_by=order_by,
            max_results=_integer(args, "max_results", default=selectors.SEARCH_DEFAULT_RESULTS),
            page_token=_string(args, "page_token") or None,
        )
        body: dict[str, Any] = {"runs": rows}
        if token:
            body["next_page_token"] = token
        return Response(body)


class RunGetView(MlflowView):
    @_documented("runs_get", "{run: {info, data, inputs}}", query=("run_id", "run_uuid"))
    def get(self, request: Request) -> Response:
        run = _run(request, self.fields(request))
        return Response({"run": selectors.run_as_mlflow(run)})


class RunCreateView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_create", "{run: {info, data, inputs}}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = services.tracked_run_create(
            actor=request.user,
            experiment_id=_string(args, "experiment_id", default=experiments.DEFAULT_ID),
            run_name=_string(args, "run_name"),
            tags=_key_values(args, "tags"),
        )
        run = selectors.run_get(user=request.user, run_id=run.pk.hex)
        return Response({"run": selectors.run_as_mlflow(run)})


class RunUpdateView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_update", "{run_info: {...}}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        run_name = args.get("run_name")
        if run_name is not None and not isinstance(run_name, str):
            raise invalid("Invalid value for parameter 'run_name': it must be a string.")
        services.run_update(actor=request.user, run=run, status=_string(args, "status") or None, run_name=run_name)
        run = selectors.run_get(user=request.user, run_id=run.pk.hex)
        return Response({"run_info": selectors.run_as_mlflow(run)["info"]})


class RunLogBatchView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_log_batch", "{}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        services.run_log_batch(
            actor=request.user,
            run=run,
            metrics=_metrics(args.get("metrics") or [], _now_ms()),
            params=_key_values(args, "params"),
            tags=_key_values(args, "tags"),
        )
        return Response({})


class RunLogMetricView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_log_metric", "{}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        key = _string(args, "key", required=True)
        if "value" not in args:
            raise invalid("Missing value for required parameter 'value'.")
        metric = _metric(dict(args, key=key), "value", _now_ms())
        services.run_log_batch(actor=request.user, run=run, metrics=[metric])
        return Response({})


class RunLogParamView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_log_parameter", "{}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        key = _string(args, "key", required=True)
        value = args.get("value")
        if value is None:
            raise invalid("Missing value for required parameter 'value'.")
        services.run_log_batch(actor=request.user, run=run, params={key: value if isinstance(value, str) else str(value)})
        return Response({})


class RunSetTagView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_set_tag", "{}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        key = _string(args, "key", required=True)
        value = args.get("value", "")
        services.run_log_batch(actor=request.user, run=run, tags={key: value if isinstance(value, str) else str(value)})
        return Response({})


class RunDeleteTagView(MlflowView):
    allowed = staticmethod(roles.can_track_runs)

    @_documented("runs_delete_tag", "{}", body=True)
    def post(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        services.run_delete_tag(actor=request.user, run=run, key=_string(args, "key", required=True))
        return Response({})


class MetricHistoryView(MlflowView):
    @_documented("metrics_get_history", "{metrics: [{key, value, timestamp, step}]}", query=("run_id", "run_uuid", "metric_key"))
    def get(self, request: Request) -> Response:
        args = self.fields(request)
        run = _run(request, args)
        key = _string(args, "metric_key", required=True)
        return Response({"metrics": selectors.metric_history(run=run, key=key)})


