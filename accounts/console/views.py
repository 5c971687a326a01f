"""Console pages: users and roles, API keys, the audit trail. Writes go through accounts.services."""
from __future__ import annotations

import csv
import secrets
from datetime import datetime, time, timezone as dt_timezone
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from accounts import roles, services
from accounts.console import selectors
from accounts.console.filters import AuditFilter, UserFilter
from accounts.console.forms import ApiKeyCreateForm, ConfirmForm, UserCreateForm, UserEditForm
from accounts.models import ApiKey, User
from runs.textsafe import csv_row
from runs.views.pages import RoleRequiredMixin

PAGE_SIZE = 50


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _querystring(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or "Refused."


# ---------------------------------------------------------------------------
# Users and roles
# ---------------------------------------------------------------------------
class UserListView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_manage_users)

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = UserFilter(request.GET or None, queryset=selectors.user_list())
        if filterset.is_bound and not filterset.is_valid():
            return render(request, "console/users.html", {"filter": filterset, "page": None}, status=400)
        return render(request, "console/users.html", {
            "filter": filterset, "page": _page(request, filterset.qs), "querystring": _querystring(request),
        })


class UserCreateView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_manage_users)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "console/user_create.html", {"form": UserCreateForm(actor=request.user)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UserCreateForm(request.POST, actor=request.user)
        if not form.is_valid():
            return render(request, "console/user_create.html", {"form": form}, status=400)
        password = secrets.token_urlsafe(12)
        data = form.cleaned_data
        try:
            user = _create_with_roles(actor=request.user, data=data, password=password)
        except (PermissionDenied, ValidationError, ValueError) as exc:
            form.add_error(None, _error_text(exc))
            return render(request, "console/user_create.html", {"form": form}, status=400)
        # The password is on this page only: in no redirect, message or log.
        response = render(request, "console/user_created.html", {"target": user, "password": password})
        response["Cache-Control"] = "no-store"
        return response


def _create_with_roles(*, actor: Any, data: dict[str, Any], password: str) -> User:
    from django.db import transaction

    with transaction.atomic():
        user = services.user_create(actor=actor, username=data["username"], password=password,
                                    email=data.get("email", ""), first_name=data.get("first_name", ""),
                                    last_name=data.get("last_name", ""))
        if data.get("roles"):
            services.user_set_roles(user=user, roles=list(data["roles"]), actor=actor)
    return user


class UserDetailView(RoleRequiredMixin, View):
    """A user's page: edit (name, email, roles), deactivate or restore, what the account may do."""

    allowed = staticmethod(roles.can_manage_users)

    def _context(self, request: HttpRequest, target: User, form: UserEditForm | None = None) -> dict[str, Any]:
        form = form or UserEditForm(actor=request.user, target=target, initial={
            "email": target.email, "first_name": target.first_name, "last_name": target.last_name,
            "roles": roles.roles_of(target),
        })
        keys = list(ApiKey.objects.filter(owner=target).order_by("-created_at"))
        return {"target": target, "form": form, "may_change": roles.can_change_user(request.user, target),
                "capabilities": selectors.user_capabilities(target), "roles_held": roles.roles_of(target),
                "keys": keys, "runs_owned": target.runs.count()}

    def get(self, request: HttpRequest, user_id: int) -> HttpResponse:
        target = get_object_or_404(User, pk=user_id)
        return render(request, "console/user_detail.html", self._context(request, target))

    def post(self, request: HttpRequest, user_id: int) -> HttpResponse:
        target = get_object_or_404(User, pk=user_id)
        if not roles.can_change_user(request.user, target):
            raise PermissionDenied
        form = UserEditForm(request.POST, actor=request.user, target=target)
        if not form.is_valid():
            return render(request, "console/user_detail.html", self._context(request, target, form), status=400)
        data = form.cleaned_data
        try:
            from django.db import transaction

            with transaction.atomic():
                services.user_update(actor=request.user, user=target, changes={
                    "email": data["email"], "first_name": data["first_name"], "last_name": data["last_name"]})
                if set(data["roles"]) != set(roles.roles_of(target)):
                    services.user_set_roles(user=target, roles=list(data["roles"]), actor=request.user)
        except (PermissionDenied, ValidationError, ValueError) as exc:
            form.add_error(None, _error_text(exc))
            return render(request, "console/user_detail.html", self._context(request, target, form), status=400)
        messages.success(request, f"{target.username} saved.")
        return redirect("console:user_detail", user_id=target.pk)


class UserActiveView(RoleRequiredMixin, View):
    """Deactivate (soft delete) or restore an account. The form must say `confirm`: an empty POST does nothing."""

    allowed = staticmethod(roles.can_manage_users)
    activate = False

    def post(self, request: HttpRequest, user_id: int) -> HttpResponse:
        target = get_object_or_404(User, pk=user_id)
        if not roles.can_change_user(request.user, target):
            raise PermissionDenied
        if not ConfirmForm(request.POST).is_valid():
            return HttpResponseBadRequest("Tick the confirmation box to go on.")
        try:
            if self.activate:
                services.user_restore(actor=request.user, user=target)
                messages.success(request, f"{target.username} is active again (their API keys stay revoked).")
            else:
                services.user_deactivate(actor=request.user, user=target)
                messages.success(request, f"{target.username} is deactivated: signed out, API keys revoked.")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return redirect("console:user_detail", user_id=target.pk)


class RolesView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_manage_users)

    def get(self, request: HttpRequest) -> HttpResponse:
        predicates, rows = selectors.role_matrix()
        table = [(row, [row.answers[name] for name in predicates]) for row in rows]
        return render(request, "console/roles.html", {"predicates": predicates, "table": table})


# ---------------------------------------------------------------------------
# API keys
# ---------------------------------------------------------------------------
def _may_have_keys(user: Any) -> bool:
    return roles.can_create_api_key(user, user)


class ApiKeyListView(RoleRequiredMixin, View):
    """Each user's own keys; with ?scope=all, every key for admin and governance."""

    allowed = staticmethod(_may_have_keys)

    def _render(self, request: HttpRequest, form: ApiKeyCreateForm, *, created: tuple[ApiKey, str] | None = None,
                status: int = 200) -> HttpResponse:
        everyone = request.GET.get("scope") == "all" and request.user.has_perm(roles.MANAGE_ALL_API_KEYS)
        keys = list(selectors.api_keys_visible_to(request.user, everyone=everyone)[:500])
        response = render(request, "console/api_keys.html", {
            "form": form, "rows": list(selectors.api_keys_with_usage(keys)), "everyone": everyone,
            "may_see_all": request.user.has_perm(roles.MANAGE_ALL_API_KEYS),
            "created": created[0] if created else None, "secret": created[1] if created else "",
        }, status=status)
        response["Cache-Control"] = "no-store"
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ApiKeyCreateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiKeyCreateForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        day = form.cleaned_data.get("expires_on")
        expires_at = datetime.combine(day, time.min, tzinfo=dt_timezone.utc) if day else None
        try:
            created = services.api_key_create(owner=request.user, name=form.cleaned_data["name"],
                                              actor=request.user, expires_at=expires_at)
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, _error_text(exc))
            return self._render(request, form, status=400)
        return self._render(request, ApiKeyCreateForm(), created=created)


class ApiKeyRevokeView(RoleRequiredMixin, View):
    allowed = staticmethod(_may_have_keys)

    def post(self, request: HttpRequest, key_id: Any) -> HttpResponse:
        key = ApiKey.objects.select_related("owner").filter(pk=key_id).first()
        if key is None or not roles.can_manage_api_key(request.user, key):
            raise Http404("No such API key.")  # another user's key is not shown to exist
        services.api_key_revoke(key=key, actor=request.user)
        messages.success(request, f"API key {key.name} ({key.prefix}…) revoked.")
        target = request.POST.get("next", "")
        if target.startswith("/console/") and "//" not in target:
            return redirect(target)
        return redirect("console:api_keys")


# ---------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------
class AuditListView(RoleRequiredMixin, View):
    allowed = staticmethod(roles.can_view_audit)

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = AuditFilter(request.GET or None, queryset=selectors.audit_list())
        if filterset.is_bound and not filterset.is_valid():
            return render(request, "console/audit.html", {"filter": filterset, "page": None}, status=400)
        return render(request, "console/audit.html", {
            "filter": filterset, "page": _page(request, filterset.qs), "querystring": _querystring(request),
        })


class _Echo:
    def write(self, value: str) -> str:
        return value


class AuditCsvView(RoleRequiredMixin, View):
    """The filtered trail as CSV; user text that looks like a formula is written as text."""

    allowed = staticmethod(roles.can_view_audit)

    def get(self, request: HttpRequest) -> HttpResponse:
        import json

        filterset = AuditFilter(request.GET or None, queryset=selectors.audit_list())
        if filterset.is_bound and not filterset.is_valid():
            return HttpResponseBadRequest("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()))
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(["id", "time_utc", "actor", "action", "target", "surface", "address", "detail",
                                   "entry_hash"])
            for e in filterset.qs.iterator(chunk_size=1000):
                yield writer.writerow(csv_row([e.pk, e.created_at.isoformat(), e.actor_name, e.action, e.target,
                                               e.surface, e.address or "", json.dumps(e.detail, sort_keys=True),
                                               e.entry_hash]))

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response


# ---------------------------------------------------------------------------
# Sessions and personal settings (every signed-in user, for themselves)
# ---------------------------------------------------------------------------
def _signed_in(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active)


class SessionsView(RoleRequiredMixin, View):
    allowed = staticmethod(_signed_in)

    def get(self, request: HttpRequest) -> HttpResponse:
        from accounts.console.sessions import device_of, sessions_of

        rows = [(s, device_of(s.user_agent), s.session_key == request.session.session_key)
                for s in sessions_of(request.user)]
        return render(request, "console/sessions.html", {"rows": rows})

    def post(self, request: HttpRequest) -> HttpResponse:
        from accounts.console.sessions import sessions_end

        ended = sessions_end(actor=request.user, user=request.user, keep=request.session.session_key)
        messages.success(request, f"Ended {ended} other session{'s' if ended != 1 else ''}.")
        return redirect("console:sessions")


class UserSessionsEndView(RoleRequiredMixin, View):
    """An admin ends every session of a user (from the user's page)."""

    allowed = staticmethod(roles.can_manage_users)

    def post(self, request: HttpRequest, user_id: int) -> HttpResponse:
        from accounts.console.sessions import sessions_end

        target = get_object_or_404(User, pk=user_id)
        if not roles.can_change_user(request.user, target):
            raise PermissionDenied
        keep = request.session.session_key if target.pk == request.user.pk else None
        ended = sessions_end(actor=request.user, user=target, keep=keep)
        messages.success(request, f"Ended {ended} session{'s' if ended != 1 else ''} of {target.username}.")
        return redirect("console:user_detail", user_id=target.pk)


class SettingsView(RoleRequiredMixin, View):
    allowed = staticmethod(_signed_in)

    def _form(self, request: HttpRequest, data: Any = None) -> Any:
        from accounts.console.forms import PreferenceForm
        from accounts.console.sessions import preference_of

        pref = preference_of(request.user)
        return PreferenceForm(data, initial={
            "page_size": pref.page_size, "time_zone": pref.time_zone, "date_format": pref.date_format,
            "theme": pref.theme, "run_status": pref.run_filters.get("status", ""),
            "run_mine": bool(pref.run_filters.get("owner")),
        })

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "console/settings.html", {"form": self._form(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        from accounts.console.sessions import PREFS_SESSION_KEY, preference_as_dict, preference_update

        form = self._form(request, request.POST)
        if not form.is_valid():
            return render(request, "console/settings.html", {"form": form}, status=400)
        data = form.cleaned_data
        run_filters = {k: v for k, v in {"status": data["run_status"],
                                          "owner": request.user.username if data["run_mine"] else ""}.items() if v}
        try:
            pref = preference_update(actor=request.user, changes={
                "page_size": int(data["page_size"]), "time_zone": data["time_zone"],
                "date_format": data["date_format"], "theme": data["theme"], "run_filters": run_filters})
        except ValidationError as exc:
            form.add_error(None, _error_text(exc))
            return render(request, "console/settings.html", {"form": form}, status=400)
        request.session[PREFS_SESSION_KEY] = preference_as_dict(pref)
        messages.success(request, "Settings saved.")
        return redirect("console:settings")
