from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """One governed action: who did what to which object, and when."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"
