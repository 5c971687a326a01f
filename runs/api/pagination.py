from __future__ import annotations

from typing import Any

from django.core.paginator import InvalidPage
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from runs.pagination import MAX_PAGE_NUMBER, CachedCountPaginator


class RunPagination(PageNumberPagination):
    """Page-number pagination whose `next` comes from the rows, not from the count.

    `count` may come from a short-lived cache; `count_approximate` says so."""

    django_paginator_class = CachedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    min_page_size = 1
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None, rows: Any = None) -> list[Any]:
        """DRF's, with `rows`: the same list read another way (e.g. values()) for the page
        itself, while the total is still counted, estimated or cached on `queryset`."""
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size, rows=rows)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from None
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_page_size(self, request: Any) -> int:
        """`page_size` as asked, or 400: a value out of range or not a whole number is refused,
        not silently replaced by another page size (DRF's default)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and self.min_page_size <= int(raw) <= self.max_page_size):
            raise ValidationError(
                {self.page_size_query_param: [f"must be a whole number from {self.min_page_size} to {self.max_page_size}"]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1, maximum=MAX_PAGE_NUMBER)
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=self.min_page_size, maximum=self.max_page_size, default=self.page_size)
                parameter["description"] = (
                    f"Rows per page, {self.min_page_size} to {self.max_page_size} (default {self.page_size})."
                )
        return parameters

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["count_approximate"] = self.page.paginator.count_is_approximate
        response.data["count_estimated"] = self.page.paginator.count_is_estimate
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = super().get_paginated_response_schema(schema)
        out["properties"]["count_approximate"] = {
            "type": "boolean",
            "description": (
                "True when `count` is not an exact count of now: counted a few seconds ago and reused, "
                "or estimated; `next` is always exact."
            ),
        }
        out["properties"]["count_estimated"] = {
            "type": "boolean",
            "description": "True when `count` is the database planner's estimate (a large list is not counted).",
        }
        return out
