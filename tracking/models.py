"""What an MLflow client logs beyond the run core's fields.

A tracked run is a runs.Run of kind `tracked`: its parameters are Run.params (strings,
as MLflow logs them), the latest value of each metric is in Run.metrics (so run lists,
filters and sorts read one place for every kind), and its name and key/value tags live
here. Every logged metric value is kept in MetricPoint, for step histories.
"""
from __future__ import annotations

from django.db import models

from runs.models import Run


class TrackedRun(models.Model):
    """The MLflow side of a tracked run: its name, its key/value tags, and when and at which
    step the latest value of each metric was logged."""

    run = models.OneToOneField(Run, primary_key=True, on_delete=models.CASCADE, related_name="tracked")
    run_name = models.CharField(max_length=250, blank=True)
    # MLflow tags are key/value pairs (mlflow.user, mlflow.source.name, …); Runsight tags are labels.
    tags = models.JSONField(default=dict, blank=True)
    # {metric key: [timestamp ms, step]} of the value held in Run.metrics.
    latest = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return self.run_name or str(self.run_id)


class MetricPoint(models.Model):
    """One value of one metric logged by a client, at a step and a time (milliseconds since the epoch)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metric_points")
    key = models.CharField(max_length=250)
    # NaN and infinities are kept here as logged; Run.metrics holds null for them (JSON has no NaN).
    value = models.FloatField()
    timestamp = models.BigIntegerField()
    step = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["run", "key", "step"], name="metricpoint_run_key_step_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.step}={self.value}"
