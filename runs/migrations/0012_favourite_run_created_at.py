"""Each favourite keeps its run's created_at, indexed (user, run_created_at DESC, run DESC):
"my favourites, newest first" reads its page from that index (runs.selectors.listing.
favourites_newest_first) instead of fetching and sorting every starred run."""
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_run_created_at(apps, schema_editor):
    RunFavourite = apps.get_model("runs", "RunFavourite")
    Run = apps.get_model("runs", "Run")
    RunFavourite.objects.filter(run_created_at__isnull=True).update(
        run_created_at=Subquery(Run.objects.filter(pk=OuterRef("run_id")).values("created_at")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("runs", "0011_search_ascending_and_params"),
    ]

    operations = [
        migrations.AddField(
            model_name="runfavourite",
            name="run_created_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(copy_run_created_at, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="runfavourite",
            name="run_created_at",
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name="runfavourite",
            index=models.Index(fields=["user", "-run_created_at", "-run"], name="run_favourite_newest"),
        ),
    ]
