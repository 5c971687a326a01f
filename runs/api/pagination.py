from rest_framework.pagination import PageNumberPagination

from runs.pagination import CachedCountPaginator


class RunPagination(PageNumberPagination):
    django_paginator_class = CachedCountPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
