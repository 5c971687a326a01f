"""The OpenAPI schema, readable in a browser as well as by API clients.

drf-spectacular serves YAML as `application/vnd.oai.openapi`, which a browser
downloads instead of showing. A browser (Accept: text/html) gets the same YAML on
a page with links to the JSON form and the interactive docs; `?format=json`
answers plain `application/json`, which browsers display; other clients get what
they got before.
"""
from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2
from drf_spectacular.views import SpectacularAPIView


class SchemaPageRenderer(OpenApiYamlRenderer):
    """The YAML schema inside an HTML page (escaped by the template)."""

    media_type = "text/html"
    format = "html"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: dict | None = None) -> bytes:
        context = renderer_context or {}
        response = context.get("response")
        failed = response is not None and response.status_code >= 400
        body = "" if failed else super().render(data, accepted_media_type, renderer_context).decode("utf-8")
        request = context.get("request")
        return render_to_string(
            "api/schema.html",
            {"schema_yaml": body, "error": data.get("detail") if failed and isinstance(data, dict) else None},
            request=getattr(request, "_request", None),
        ).encode("utf-8")


class SchemaView(SpectacularAPIView):
    # application/json before the vendor JSON type, so ?format=json is shown by browsers.
    renderer_classes = [
        OpenApiYamlRenderer, OpenApiYamlRenderer2, OpenApiJsonRenderer2, OpenApiJsonRenderer, SchemaPageRenderer,
    ]
