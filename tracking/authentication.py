"""API keys sent as MLflow clients send a token: ``Authorization: Bearer <secret>``
(MLFLOW_TRACKING_TOKEN). The same keys, checks and failure limits as ``Api-Key``."""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.authentication import ApiKeyAuthentication


class BearerApiKeyAuthentication(ApiKeyAuthentication):
    keyword = "Bearer"


class BearerApiKeyScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's word for it: an HTTP bearer token that is a Runsight API key."""

    target_class = "tracking.authentication.BearerApiKeyAuthentication"
    name = "BearerApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A Runsight API key sent as MLflow sends MLFLOW_TRACKING_TOKEN: `Authorization: Bearer <secret>`.",
        }
