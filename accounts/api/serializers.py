from __future__ import annotations

from rest_framework import serializers

from accounts import roles
from accounts.models import ApiKey, AuditEvent, User
from accounts.roles import Role


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    runs_owned = serializers.IntegerField(read_only=True, default=None, allow_null=True)
    # An address, or "" when none was given (the schema's email format would refuse "").
    email = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "email", "first_name", "last_name", "is_active", "is_superuser", "roles",
                  "last_login", "date_joined", "runs_owned")
        read_only_fields = fields

    def get_roles(self, user: User) -> list[str]:
        return roles.roles_of(user)


class UserWriteSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.values), required=False)


class ApiKeySerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    state = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ("id", "name", "prefix", "owner", "created_at", "last_used_at", "expires_at", "revoked_at", "state")
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ("id", "created_at", "actor", "action", "target", "detail", "surface", "address", "prev_hash",
                  "entry_hash")
        read_only_fields = fields
