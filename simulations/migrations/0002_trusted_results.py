import django.db.models.deletion
from django.db import migrations, models


def drop_untrusted_entries(apps, schema_editor):
    """Reports were keyed by parameters and could have been built from imported bytes: all are
    dropped (each is built again on demand, keyed by its run's checksum). Entries an imported
    run produced are dropped too."""
    CachedResult = apps.get_model("simulations", "CachedResult")
    CachedResult.objects.filter(kind="report").delete()
    CachedResult.objects.filter(source_run__origin="IMPORT").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("simulations", "0001_initial"),
        ("runs", "0007_provenance"),
    ]

    operations: list = [
        migrations.AddField(
            model_name="cachedresult",
            name="results_checksum",
            field=models.CharField(
                blank=True,
                help_text="For a report: the checksum of the result bytes it was built from. A report is served only "
                "to a run whose checksum is exactly this.",
                max_length=64,
            ),
        ),
        migrations.AlterField(
            model_name="cachedresult",
            name="source_run",
            field=models.ForeignKey(
                blank=True,
                help_text="The run that computed these bytes: a run our engine computed, checked when the entry is "
                "written and again when it is read. Empty once that run is deleted.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="runs.run",
            ),
        ),
        migrations.RunPython(drop_untrusted_entries, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="cachedresult",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "report"), _negated=True),
                    models.Q(("results_checksum", ""), _negated=True),
                    _connector="OR",
                ),
                name="cachedresult_report_keyed_by_checksum",
            ),
        ),
    ]
