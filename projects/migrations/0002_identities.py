import uuid

from django.db import migrations, models


def _fill(apps, schema_editor) -> None:
    # Rows made before identities existed each get their own.
    for name in ("Project", "Experiment"):
        model = apps.get_model("projects", name)
        for row in model.objects.filter(uid__isnull=True):
            row.uid = uuid.uuid4()
            row.save(update_fields=["uid"])


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="project", name="uid", field=models.UUIDField(null=True, editable=False)),
        migrations.AddField(model_name="experiment", name="uid", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="project", name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True,
                                   help_text="Identity kept across export and import."),
        ),
        migrations.AlterField(
            model_name="experiment", name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True,
                                   help_text="Identity kept across export and import."),
        ),
    ]
