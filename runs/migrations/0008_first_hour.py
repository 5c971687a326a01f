import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def stars_to_their_owners(apps, schema_editor):
    """A run starred before favourites were per user becomes its owner's favourite (the
    likeliest person to have starred it); a run without owner keeps its shared star."""
    Run = apps.get_model("runs", "Run")
    RunFavourite = apps.get_model("runs", "RunFavourite")
    starred = Run.objects.filter(is_favourite=True, owner__isnull=False).values_list("pk", "owner_id")
    RunFavourite.objects.bulk_create(
        [RunFavourite(run_id=pk, user_id=owner_id) for pk, owner_id in starred.iterator()],
        batch_size=1000, ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0007_provenance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RunFavourite",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="favourites", to="runs.run")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="run_favourites", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("user", "run"), name="run_favourite_once_per_user")],
            },
        ),
        migrations.RunPython(stars_to_their_owners, migrations.RunPython.noop),
    ]
