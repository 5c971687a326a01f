import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("simulations", "0002_trusted_results"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Dataset",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=200)),
                ("kind", models.CharField(choices=[("generated", "Generated"), ("uploaded", "Uploaded")], max_length=16)),
                ("format", models.CharField(choices=[("parquet", "Parquet"), ("csv", "CSV")], max_length=8)),
                ("path", models.CharField(help_text="Where the bytes live in the artifact store.", max_length=500)),
                ("sha256", models.CharField(max_length=64)),
                ("size_bytes", models.BigIntegerField()),
                ("rows", models.BigIntegerField()),
                ("columns", models.JSONField(default=list, help_text="Schema: one object per column (name, dtype, nulls, distinct values up to a cap).")),
                ("source", models.JSONField(blank=True, default=dict, help_text="How it was made: the generator and its arguments, or the uploaded file's name.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["path"], name="dataset_path_idx")],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("kind__in", ["generated", "uploaded"])), name="dataset_kind_valid"),
                    models.CheckConstraint(condition=models.Q(("format__in", ["parquet", "csv"])), name="dataset_format_valid"),
                    models.CheckConstraint(condition=models.Q(("path", ""), _negated=True), name="dataset_bytes_present"),
                ],
            },
        ),
    ]
