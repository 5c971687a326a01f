"""The projects API: viewsets over the selectors, every write one service call."""
from __future__ import annotations

from typing import Any, Callable

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import roles
from projects import selectors, services
from projects.api.serializers import (
    DatasetAttachSerializer,
    ExperimentCreateSerializer,
    ExperimentSerializer,
    ExperimentUpdateSerializer,
    FileRunSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    LockedSerializer,
    LockStateSerializer,
    MemberSerializer,
    PlacementSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    TimelineEntrySerializer,
    lock_state_data,
)
from projects.exchange import ProjectImportConflict, project_export, project_import, project_import_refusal
from projects.models import Experiment, Project

LOCKED = OpenApiResponse(LockedSerializer, description="Another member holds the project's editing lock.")


class CanViewProjects(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return roles.can_view_projects(request.user)


def _call(service: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a service; its refusals become the API's answers (409 for a lock held by someone else)."""
    try:
        return service(**kwargs)
    except services.ProjectLocked as exc:
        raise _Locked(exc) from None
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from None
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from None


class _Locked(Exception):
    def __init__(self, exc: services.ProjectLocked) -> None:
        self.body = {"detail": str(exc), "holder": exc.holder.get_username(), "taken_at": exc.taken_at.isoformat()}


class _LockedAware:
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Locked):
            return Response(exc.body, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)  # type: ignore[misc]


class ProjectViewSet(_LockedAware, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Projects: read by whoever reads runs; created and edited by members who may edit (admin: all).

    Edits need the project's editing lock: a free lock is taken by the edit, a lock held by
    someone else answers 409 naming them."""

    serializer_class = ProjectSerializer
    permission_classes = [CanViewProjects]
    lookup_value_regex = r"\d+"
    filterset_class = None
    filter_backends: list[Any] = []

    def get_queryset(self):
        return selectors.project_list(user=self.request.user).order_by("name")

    def get_parsers(self):
        if getattr(self, "action", None) == "import_bundle":
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request: Request) -> Response:
        if not roles.can_create_project(request.user):
            raise PermissionDenied("You may not create projects.")
        body = ProjectCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        members = [_call(services.project_member_by_username, username=u) for u in body.validated_data.get("members", [])]
        project = _call(services.project_create, actor=request.user, name=body.validated_data["name"],
                        description=body.validated_data["description"], members=members)
        return Response(self._out(project), status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectUpdateSerializer, responses={200: ProjectSerializer, 409: LOCKED})
    def partial_update(self, request: Request, pk: str) -> Response:
        project = self._editable()
        body = ProjectUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        _call(services.project_update, actor=request.user, project=project, changes=dict(body.validated_data))
        return Response(self._out(project))

    @extend_schema(responses={204: None, 409: LOCKED})
    def destroy(self, request: Request, pk: str) -> Response:
        _call(services.project_delete, actor=request.user, project=self._editable())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _editable(self) -> Project:
        """The project, refused (403) before its body is read unless the caller may edit it."""
        project = self.get_object()
        if not roles.can_edit_project(self.request.user, project):
            raise PermissionDenied("You may not edit this project: only its members (and admins) may.")
        return project

    def _out(self, project: Project) -> dict[str, Any]:
        fresh = self.get_queryset().get(pk=project.pk)
        return ProjectSerializer(fresh, context=self.get_serializer_context()).data

    # --- the lock -------------------------------------------------------------
    @extend_schema(methods=["GET"], request=None, responses={200: LockStateSerializer})
    @extend_schema(methods=["POST"], request=None, responses={200: LockStateSerializer, 409: LOCKED},
                   description="Take the editing lock, or renew one's own.")
    @extend_schema(methods=["DELETE"], request=None, responses={200: LockStateSerializer},
                   description="Release one's own lock (403 while someone else holds it).")
    @action(detail=True, methods=["get", "post", "delete"])
    def lock(self, request: Request, pk: str) -> Response:
        project = self.get_object() if request.method == "GET" else self._editable()
        if request.method == "POST":
            _call(services.project_lock_take, actor=request.user, project=project)
        elif request.method == "DELETE":
            _call(services.project_lock_release, actor=request.user, project=project)
        return Response(LockStateSerializer(lock_state_data(project, request.user)).data)

    @extend_schema(request=None, responses={200: LockStateSerializer},
                   description="An admin frees another member's lock (audited).")
    @action(detail=True, methods=["post"], url_path="lock/break")
    def lock_break(self, request: Request, pk: str) -> Response:
        project = self.get_object()
        if not roles.can_break_project_lock(request.user):
            raise PermissionDenied("Only an admin may break a project's editing lock.")
        _call(services.project_lock_break, actor=request.user, project=project)
        return Response(LockStateSerializer(lock_state_data(project, request.user)).data)

    # --- members, datasets, runs -------------------------------------------------
    @extend_schema(request=MemberSerializer, responses={200: ProjectSerializer, 409: LOCKED})
    @action(detail=True, methods=["post"])
    def members(self, request: Request, pk: str) -> Response:
        project = self._editable()
        body = MemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = _call(services.project_member_by_username, username=body.validated_data["username"])
        _call(services.project_member_add, actor=request.user, project=project, user=user)
        return Response(self._out(project))

    @extend_schema(request=MemberSerializer, responses={200: ProjectSerializer, 409: LOCKED})
    @action(detail=True, methods=["post"], url_path="members/remove")
    def members_remove(self, request: Request, pk: str) -> Response:
        project = self._editable()
        body = MemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = _call(services.project_member_by_username, username=body.validated_data["username"])
        _call(services.project_member_remove, actor=request.user, project=project, user=user)
        return Response(self._out(project))

    @extend_schema(request=DatasetAttachSerializer, responses={200: ProjectSerializer, 409: LOCKED})
    @action(detail=True, methods=["post"])
    def datasets(self, request: Request, pk: str) -> Response:
        project = self._editable()
        body = DatasetAttachSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _call(services.project_dataset_attach, actor=request.user, project=project,
              dataset_name=body.validated_data["dataset"])
        return Response(self._out(project))

    @extend_schema(request=DatasetAttachSerializer, responses={200: ProjectSerializer, 409: LOCKED})
    @action(detail=True, methods=["post"], url_path="datasets/detach")
    def datasets_detach(self, request: Request, pk: str) -> Response:
        project = self._editable()
        body = DatasetAttachSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        _call(services.project_dataset_detach, actor=request.user, project=project,
              dataset_name=body.validated_data["dataset"])
        return Response(self._out(project))

    @extend_schema(request=FileRunSerializer, responses={200: PlacementSerializer},
                   description="File a run under this project (and one of its experiments). The run list's "
                               "`project` and `experiment` filters then find it.")
    @action(detail=True, methods=["post"])
    def runs(self, request: Request, pk: str) -> Response:
        from runs.selectors import run_list

        project = self._editable()
        body = FileRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = run_list(user=request.user).filter(run_id=body.validated_data["run_id"]).first()
        if run is None:
            raise NotFound("No such run (or not visible to you).")
        experiment = None
        if body.validated_data.get("experiment"):
            experiment = project.experiments.filter(pk=body.validated_data["experiment"]).first()
            if experiment is None:
                raise ValidationError({"experiment": ["No such experiment in this project."]})
        placement = _call(services.run_place, actor=request.user, run=run, project=project, experiment=experiment)
        return Response({"run_id": run.run_id, "project": project.pk, "experiment": placement.experiment_id})

    @extend_schema(responses={200: TimelineEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request: Request, pk: str) -> Response:
        events = selectors.project_timeline(project=self.get_object())
        return Response(TimelineEntrySerializer(events, many=True).data)

    # --- export and import -----------------------------------------------------------
    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="Bundle")})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Any:
        export = _call(project_export, project=self.get_object(), actor=request.user)
        response = StreamingHttpResponse(export.chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["X-Project-Checksum"] = export.checksum
        return response

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportResultSerializer, 200: ImportResultSerializer,
                   409: OpenApiResponse(LockedSerializer, description="A name or identity conflict, or the lock "
                                        "of the project it adds to is held by someone else (holder, taken_at).")},
        description="Import a project bundle: 201 when something was added, 200 when everything in it was "
                    "already here (a second import adds nothing); 409 when another project holds its name, or "
                    "a member holds the lock of the project it adds to.",
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_bundle(self, request: Request) -> Response:
        refusal = project_import_refusal(request.META.get("CONTENT_LENGTH"))
        if refusal:
            return Response({"detail": refusal}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if not roles.can_import_projects(request.user):
            raise PermissionDenied("You may not import projects.")
        body = ImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = project_import(file=body.validated_data["file"], actor=request.user)
        except services.ProjectLocked as exc:
            raise _Locked(exc) from None
        except ProjectImportConflict as exc:
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc) or None) from None
        except DjangoValidationError as exc:
            raise ValidationError({"detail": " ".join(exc.messages)}) from None
        out = {"project": result.project.pk, "uid": result.project.uid, "name": result.project.name,
               "created": result.created, "experiments_added": result.experiments_added,
               "datasets_added": result.datasets_added, "runs_added": result.runs_added,
               "runs_filed": result.runs_filed, "checksum": result.checksum, "summary": result.summary}
        return Response(out, status=status.HTTP_201_CREATED if result.added_anything else status.HTTP_200_OK)


class ExperimentViewSet(_LockedAware, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Experiments of projects (`?project=<id>`); edits need the project's lock, like the project's own."""

    serializer_class = ExperimentSerializer
    permission_classes = [CanViewProjects]
    lookup_value_regex = r"\d+"
    filter_backends: list[Any] = []

    def get_queryset(self):
        qs = selectors.experiment_list(user=self.request.user).order_by("project__name", "name")
        project = self.request.query_params.get("project")
        if getattr(self, "action", None) == "list" and project:
            if not project.isdigit() or len(project) > 18:
                raise ValidationError({"project": ["A project's id (a number)."]})
            qs = qs.filter(project_id=int(project))
        return qs

    def _editable(self) -> Experiment:
        experiment: Experiment = self.get_object()
        if not roles.can_edit_project(self.request.user, experiment.project):
            raise PermissionDenied("You may not edit this project's experiments: only its members (and admins) may.")
        return experiment

    @extend_schema(parameters=[OpenApiParameter("project", int, description="Only this project's experiments.")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ExperimentCreateSerializer, responses={201: ExperimentSerializer, 409: LOCKED})
    def create(self, request: Request) -> Response:
        if not roles.can_edit_some_projects(request.user):
            raise PermissionDenied("You may not edit projects.")
        body = ExperimentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        project = selectors.project_get(user=request.user, pk=data.pop("project"))
        if project is None:
            raise ValidationError({"project": ["No such project."]})
        experiment = _call(services.experiment_create, actor=request.user, project=project, **data)
        return Response(ExperimentSerializer(self.get_queryset().get(pk=experiment.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=ExperimentUpdateSerializer, responses={200: ExperimentSerializer, 409: LOCKED})
    def partial_update(self, request: Request, pk: str) -> Response:
        experiment = self._editable()
        body = ExperimentUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        _call(services.experiment_update, actor=request.user, experiment=experiment, changes=dict(body.validated_data))
        return Response(ExperimentSerializer(self.get_queryset().get(pk=experiment.pk)).data)

    @extend_schema(responses={204: None, 409: LOCKED})
    def destroy(self, request: Request, pk: str) -> Response:
        _call(services.experiment_delete, actor=request.user, experiment=self._editable())
        return Response(status=status.HTTP_204_NO_CONTENT)
