from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("runs", "0005_artifact_path_index")]

    operations: list = [
        # Fencing token of the execution attempt, incremented by the claim.
        migrations.AddField(model_name="run", name="attempt", field=models.PositiveIntegerField(default=0)),
        # Outbox bookkeeping: when the task message was last sent and how many were sent.
        migrations.AddField(model_name="run", name="queued_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="run", name="enqueue_count", field=models.PositiveIntegerField(default=0)),
    ]
