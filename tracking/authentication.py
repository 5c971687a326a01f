"""API keys sent as MLflow clients send a token: ``Authorization: Bearer <secret>``
(MLFLOW_TRACKING_TOKEN). The same keys, checks and failure limits as ``Api-Key``."""
from __future__ import annotations

from accounts.authentication import ApiKeyAuthentication


class BearerApiKeyAuthentication(ApiKeyAuthentication):
    keyword = "Bearer"
