"""The registry of run kinds.

The run core knows no kind. Each kind (demo, simulation, training, FinOps batch)
registers here what the core needs: a form that validates its parameters, the
function a worker calls to execute it, and the permissions to see and launch it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from django import forms

from accounts.roles import register_launch_permission

if TYPE_CHECKING:
    from runs.context import RunContext
    from runs.models import Run


class UnknownKindError(LookupError):
    pass


@dataclass(frozen=True)
class RunKind:
    name: str
    label: str
    params_form: type[forms.Form]
    execute: Callable[["Run", "RunContext"], None]
    view_permission: str = "runs.view_run"
    launch_permission: str = "runs.launch_run"
    description: str = ""
    is_demo: bool = False
    # Template included on the run detail page for kind-specific results.
    detail_template: str | None = None
    # Parameter that seeds the run's randomness, copied to Run.seed.
    seed_param: str | None = "seed"
    # Kind-specific integrity checks for the validation panel: (label, ok, detail) tuples.
    validate: Callable[["Run"], list[tuple[str, bool, str]]] | None = None
    # What an imported run of this kind must hold for its pages, report and clones to work,
    # checked on the stored bytes inside the import's transaction: a list of problems, empty if fine.
    validate_import: Callable[["Run"], list[str]] | None = None
    # False for runs created and driven by their own client (the MLflow-compatible tracking
    # API): they are never launched from a form or queued for a worker.
    launchable: bool = True
    # Seconds without a heartbeat before the reaper fails a RUNNING run of this kind
    # (None: RUN_HEARTBEAT_TIMEOUT). A tracked run beats only when its client calls.
    heartbeat_timeout: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, RunKind] = {}


def register(kind: RunKind) -> RunKind:
    if kind.name in _REGISTRY and _REGISTRY[kind.name] is not kind:
        raise ValueError(f"Run kind {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    register_launch_permission(kind.name, kind.launch_permission)
    return kind


def get_kind(name: str) -> RunKind:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownKindError(f"Unknown run kind {name!r} (known: {known})") from None


def all_kinds() -> list[RunKind]:
    return sorted(_REGISTRY.values(), key=lambda k: (k.is_demo, k.label))


def kinds_visible_to(user: Any) -> list[str]:
    return [k.name for k in _REGISTRY.values() if user.has_perm(k.view_permission)]


def kinds_launchable_by(user: Any) -> list[RunKind]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        k for k in all_kinds()
        if k.launchable and user.has_perm(k.view_permission) and user.has_perm(k.launch_permission)
    ]
