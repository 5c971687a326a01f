from django.db import migrations, models


def pending_runs_enter_the_outbox(apps, schema_editor):
    """Runs already PENDING count as sent once at their creation, so the outbox pass
    resends them (or fails them, saying why) instead of leaving them stuck."""
    Run = apps.get_model("runs", "Run")
    for run in Run.objects.filter(status="PENDING", queued_at__isnull=True).only("pk", "created_at"):
        Run.objects.filter(pk=run.pk).update(queued_at=run.created_at, enqueue_count=1)


class Migration(migrations.Migration):
    dependencies = [("runs", "0005_artifact_path_index")]

    operations: list = [
        # Fencing token of the execution attempt, incremented by the claim.
        migrations.AddField(model_name="run", name="attempt", field=models.PositiveIntegerField(default=0)),
        # Outbox bookkeeping: when the task message was last sent and how many were sent.
        migrations.AddField(model_name="run", name="queued_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="run", name="enqueue_count", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(pending_runs_enter_the_outbox, migrations.RunPython.noop),
    ]
