"""Celery entry points of datasets: thin, they take an id and call a service."""
from __future__ import annotations

from celery import shared_task

from datasets.services import dataset_index_build


@shared_task(name="datasets.build_preview_index", ignore_result=True)
def build_preview_index(dataset_pk: int) -> None:
    dataset_index_build(dataset_pk=dataset_pk)
