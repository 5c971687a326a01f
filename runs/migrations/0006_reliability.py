from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("runs", "0005_artifact_path_index")]

    operations: list = []
