"""Celery entry points of the simulations app: thin, they take an id and call a service."""
from __future__ import annotations

from celery import shared_task

from simulations.services import simulation_chunk_execute


@shared_task(name="simulations.execute_chunk", bind=True, acks_late=True, reject_on_worker_lost=True)
def execute_chunk(self, chunk_pk: int) -> None:
    simulation_chunk_execute(chunk_pk=chunk_pk, worker=self.request.hostname or "an eager task")
