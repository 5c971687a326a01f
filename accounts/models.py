from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.timezone import now as timezone_now


class User(AbstractUser):
    """A person who signs in to Runsight. Roles are the Django groups they belong to."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Capability(models.Model):
    """Holds the permissions that belong to no table (console, user management).

    Unmanaged: it has no table; it exists so that these capabilities are ordinary
    Django permissions that groups can hold and `has_perm` can check.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_console", "Can see the console (health, logs, cache)"),
            ("manage_console", "Can act in the console (clear caches)"),
            ("manage_users", "Can manage users and their roles"),
            ("view_audit", "Can read the audit trail"),
            ("manage_all_api_keys", "Can see and revoke every API key"),
        ]


class ApiKey(models.Model):
    """A secret that lets an API client act as its owner. Only a hash is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="The first characters, shown to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="After this moment the key is refused.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """active, revoked or expired (revoked wins: it is the stronger, final state)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired else "active"


class AuditEventQuerySet(models.QuerySet):
    """Entries are appended, never changed or deleted, by any code path that goes through the ORM."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted.")


class AuditSurface(models.TextChoices):
    PAGE = "page", "Page"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Command"
    SYSTEM = "system", "System"  # a worker, a scheduled task, a migration


class AuditEvent(models.Model):
    """One governed action: who did what to which object, when, from where.

    Append-only and chained: `entry_hash` is the sha256 of the entry's content and
    of the previous entry's hash (`prev_hash`), so a changed or removed row breaks
    the chain (`manage.py audit_verify`). The actor's name is stored as text because
    the actor link is cleared when an account is deleted, and the hash must not change.
    """

    created_at = models.DateTimeField(default=timezone_now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    surface = models.CharField(max_length=16, choices=AuditSurface.choices, default=AuditSurface.SYSTEM)
    address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, blank=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit entries cannot be deleted.")


class UserSession(models.Model):
    """A signed-in session as its owner sees it (device, address, last seen); the session itself is Django's."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_sessions")
    user_agent = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone_now)
    last_seen = models.DateTimeField(default=timezone_now)

    class Meta:
        ordering = ["-last_seen"]


class UserPreference(models.Model):
    """Personal settings, applied on every page (copied into the session at sign-in and on save)."""

    THEMES = [("light", "Light"), ("dark", "Dark")]
    DATE_FORMATS = [("Y-m-d H:i", "2026-11-30 14:05"), ("d/m/Y H:i", "30/11/2026 14:05"),
                    ("m/d/Y g:i A", "11/30/2026 2:05 PM")]
    PAGE_SIZES = [(10, "10"), (25, "25"), (50, "50"), (100, "100")]

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    page_size = models.PositiveSmallIntegerField(choices=PAGE_SIZES, default=25)
    time_zone = models.CharField(max_length=64, default="UTC")
    date_format = models.CharField(max_length=20, choices=DATE_FORMATS, default="Y-m-d H:i")
    theme = models.CharField(max_length=8, choices=THEMES, default="light")
    run_filters = models.JSONField(default=dict, blank=True, help_text="Default filters of the run list.")
