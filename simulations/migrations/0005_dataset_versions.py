"""Datasets get versions, a description, their source file's name, format and size.

Existing rows are numbered per name (oldest first: 1, 2, …) before the
(name, version) uniqueness is enforced; their source file name and format are
taken from what was recorded (`source["filename"]`, the stored format, or
"generated").
"""
from django.db import migrations, models


def number_existing_versions(apps, schema_editor) -> None:
    Dataset = apps.get_model("simulations", "Dataset")
    seen: dict[str, int] = {}
    for dataset in Dataset.objects.order_by("name", "created_at", "id").iterator():
        seen[dataset.name] = seen.get(dataset.name, 0) + 1
        dataset.version = seen[dataset.name]
        source = dataset.source if isinstance(dataset.source, dict) else {}
        if dataset.kind == "generated":
            dataset.source_format = "generated"
        else:
            dataset.source_format = dataset.format
            dataset.source_filename = str(source.get("filename", ""))[:255]
            dataset.source_size_bytes = dataset.size_bytes
        dataset.save(update_fields=["version", "source_format", "source_filename", "source_size_bytes"])


class Migration(migrations.Migration):

    dependencies = [
        ("simulations", "0004_registry"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="description",
            field=models.TextField(blank=True, max_length=4000),
        ),
        migrations.AddField(
            model_name="dataset",
            name="source_filename",
            field=models.CharField(blank=True, help_text="The uploaded file's name.", max_length=255),
        ),
        migrations.AddField(
            model_name="dataset",
            name="source_format",
            field=models.CharField(
                blank=True,
                choices=[("csv", "CSV"), ("xlsx", "Excel (xlsx)"), ("json", "JSON records"), ("parquet", "Parquet"),
                         ("generated", "Generated")],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="dataset",
            name="source_size_bytes",
            field=models.BigIntegerField(blank=True, help_text="Size of the uploaded file.", null=True),
        ),
        migrations.AddField(
            model_name="dataset",
            name="version",
            field=models.PositiveIntegerField(
                default=1, help_text="1 for the first upload under this name, then 2, 3, … (older versions stay readable)."
            ),
        ),
        migrations.AlterField(
            model_name="dataset",
            name="columns",
            field=models.JSONField(
                default=list,
                help_text="Schema and statistics: one object per column (name, type, nulls, min/max/mean or top values, "
                          "distinct values up to a cap).",
            ),
        ),
        migrations.RunPython(number_existing_versions, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(fields=["sha256"], name="dataset_sha256_idx"),
        ),
        migrations.AddConstraint(
            model_name="dataset",
            constraint=models.UniqueConstraint(fields=("name", "version"), name="dataset_name_version_unique"),
        ),
        migrations.AddConstraint(
            model_name="dataset",
            constraint=models.CheckConstraint(condition=models.Q(("version__gte", 1)), name="dataset_version_positive"),
        ),
        migrations.AddConstraint(
            model_name="dataset",
            constraint=models.CheckConstraint(
                condition=models.Q(("source_format__in", ["csv", "xlsx", "json", "parquet", "generated", ""])),
                name="dataset_source_format_valid",
            ),
        ),
    ]
