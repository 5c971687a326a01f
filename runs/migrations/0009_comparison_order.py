import django.db.models.deletion
from django.db import migrations, models


def keep_what_was_shown(apps, schema_editor):
    """Saved comparisons so far showed their runs oldest first, the oldest as the baseline:
    record exactly that, so reopening one shows the same Δ as before."""
    RunComparison = apps.get_model("runs", "RunComparison")
    for comparison in RunComparison.objects.all():
        runs = sorted(comparison.runs.all(), key=lambda r: (r.created_at, r.run_id))
        comparison.run_order = [run.run_id for run in runs]
        comparison.baseline = runs[0] if runs else None
        comparison.save(update_fields=["run_order", "baseline"])


class Migration(migrations.Migration):
    dependencies = [("runs", "0008_first_hour")]

    operations = [
        migrations.AddField(
            model_name="runcomparison",
            name="baseline",
            field=models.ForeignKey(
                blank=True,
                help_text="The run Δ and Δ% are against; when it is deleted, the first remaining run.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="runs.run",
            ),
        ),
        migrations.AddField(
            model_name="runcomparison",
            name="run_order",
            field=models.JSONField(blank=True, default=list, help_text="Run ids in the order of the columns."),
        ),
        migrations.RunPython(keep_what_was_shown, migrations.RunPython.noop),
    ]
