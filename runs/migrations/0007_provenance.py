from django.db import migrations, models
from django.db.models import Q


def mark_imported_runs(apps, schema_editor):
    """Runs imported before provenance was recorded: every import wrote an "Imported by …" log line
    (and a copy or a Parquet import has the trigger IMPORT), so they are found and marked."""
    Run = apps.get_model("runs", "Run")
    RunLog = apps.get_model("runs", "RunLog")
    logged = RunLog.objects.filter(message__startswith="Imported by ").values("run_id")
    for run in Run.objects.filter(Q(trigger="IMPORT") | Q(pk__in=logged)).iterator(chunk_size=500):
        line = (
            RunLog.objects.filter(run_id=run.pk, message__startswith="Imported by ").order_by("id").first()
        )
        fmt = ""
        if line is not None:
            for candidate in ("parquet", "bundle", "json"):
                if f" from a {candidate} file" in line.message:
                    fmt = candidate
                    break
        Run.objects.filter(pk=run.pk).update(
            origin="IMPORT",
            imported_at=line.created_at if line is not None else run.created_at,
            import_format=fmt,
            imported_from="recorded before provenance was kept",
        )


class Migration(migrations.Migration):
    dependencies = [("runs", "0006_reliability")]

    operations: list = [
        migrations.AddField(
            model_name="run",
            name="origin",
            field=models.CharField(
                choices=[("ENGINE", "Computed here"), ("IMPORT", "Imported")], default="ENGINE", max_length=8
            ),
        ),
        migrations.AddField(model_name="run", name="imported_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="run",
            name="imported_from",
            field=models.CharField(
                blank=True,
                help_text="What was imported: the source run and file format, or the file name.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="import_format",
            field=models.CharField(blank=True, help_text="json, bundle or parquet.", max_length=8),
        ),
        migrations.RunPython(mark_imported_runs, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="run",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("origin", "ENGINE"), ("imported_at__isnull", True)),
                    models.Q(("origin", "IMPORT"), ("imported_at__isnull", False)),
                    _connector="OR",
                ),
                name="run_origin_valid",
            ),
        ),
    ]
