from __future__ import annotations

from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from runs.pagination import CachedCountPaginator


class RunPagination(PageNumberPagination):
    """Page-number pagination whose `next` comes from the rows, not from the count.

    `count` may come from a short-lived cache; `count_approximate` says so."""

    django_paginator_class = CachedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_approximate"] = self.page.paginator.count_is_approximate
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count_approximate"] = {
            "type": "boolean",
            "description": "True when `count` was counted a few seconds ago and reused; `next` is always exact.",
        }
        return out
